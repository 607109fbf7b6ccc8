// What the run and item views know of the executors (the last GET /executors): whether
// the store is shared at all, and how to name an executor id (host:pid).
let byId = new Map();

export function setExecutors(executors) {
  byId = new Map(executors.map((e) => [e.id, e]));
}

/** True once GET /executors has listed any: the store is shared, the views show where items run. */
export function isCluster() {
  return byId.size > 0;
}

/** The end of the id (a UUIDv7 starts with its time, the same for processes started together), as `weft runs list` prints it. */
export function shortId(id) {
  return id.slice(-8);
}

/** `host:pid` of an executor the list knows, else its short id. */
export function executorLabel(id) {
  const e = byId.get(id);
  return e ? `${e.host}:${e.pid}` : shortId(id);
}
