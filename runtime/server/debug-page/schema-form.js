// A form generated from a JSON Schema (the schema a paused step asks for): an object's
// properties as labelled fields (text, number, checkbox, select, date, …; nested objects
// as fieldsets), anything the fields cannot express as a JSON box for that value alone.
// The server validates; its issues (`value.name: must NOT have fewer than 1 characters`)
// are shown under the field they name. Built with the DOM, never with markup strings.

const FORMAT_INPUT = { email: 'email', uri: 'url', url: 'url', date: 'date', 'date-time': 'datetime-local', time: 'time' };

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') node.textContent = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (v !== undefined && v !== false) node.setAttribute(k, v === true ? '' : String(v));
  }
  node.append(...children);
  return node;
}

const typeOf = (schema) => (Array.isArray(schema?.type) ? schema.type.find((t) => t !== 'null') : schema?.type)
  ?? (schema?.properties ? 'object' : schema?.enum ? 'enum' : undefined);

/**
 * Builds the form's fields into `box` for `schema`. Returns `collect()` (the value, or
 * throws naming the field) and `showIssues(issues)` / `clear()` for inline errors.
 */
export function schemaFields(box, schema) {
  const fields = []; // { path, read(): value | undefined, error: element }
  box.replaceChildren(build(schema ?? {}, '', schema?.title ?? 'Value', true, fields));
  return {
    collect() {
      let root;
      for (const f of fields) {
        const v = f.read();
        if (v === undefined) continue;
        root = f.path === '' ? v : setPath(root ?? {}, f.path, v);
      }
      return root ?? (typeOf(schema) === 'object' ? {} : null);
    },
    showIssues(issues) {
      this.clear();
      const rest = [];
      for (const issue of issues) {
        const path = String(issue.path).replace(/^value\.?/, '').replace(/^\(root\)$/, '');
        const field = closestField(fields, path);
        if (!field) { rest.push(issue); continue; }
        field.error.textContent = [field.error.textContent, issue.message].filter(Boolean).join('; ');
        field.error.hidden = false;
        field.input?.setAttribute('aria-invalid', 'true');
      }
      return rest;
    },
    clear() {
      for (const f of fields) { f.error.textContent = ''; f.error.hidden = true; f.input?.removeAttribute('aria-invalid'); }
    },
  };
}

function closestField(fields, path) {
  for (let p = path; ; p = p.replace(/(\.[^.[\]]+|\[\d+\])$/, '')) {
    const f = fields.find((x) => x.path === p);
    if (f) return f;
    if (p === '') return undefined;
  }
}

function setPath(root, path, value) {
  const keys = path.split('.');
  let o = root;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {});
  o[keys.at(-1)] = value;
  return root;
}

function build(schema, path, label, required, fields) {
  const type = typeOf(schema);
  if (type === 'object' && schema.properties) {
    const set = el('fieldset', { dataset: { path } }, path ? [el('legend', { text: label })] : []);
    if (schema.description) set.append(el('p', { class: 'muted hint', text: schema.description }));
    const req = new Set(schema.required ?? []);
    for (const [key, sub] of Object.entries(schema.properties)) {
      set.append(build(sub ?? {}, path ? `${path}.${key}` : key, sub?.title ?? key, req.has(key), fields));
    }
    return set;
  }
  return field(schema, path, label, required, type, fields);
}

function field(schema, path, label, required, type, fields) {
  const id = `f-${Math.random().toString(36).slice(2, 10)}`;
  const error = el('span', { class: 'field-error', hidden: true, role: 'alert' });
  let input;
  let read;
  if (schema.enum) {
    input = el('select', { id, name: path }, [
      ...(required ? [] : [el('option', { value: '', text: '—' })]),
      ...schema.enum.map((v, i) => el('option', { value: String(i), text: typeof v === 'string' ? v : JSON.stringify(v) })),
    ]);
    if (schema.default !== undefined) input.value = String(schema.enum.findIndex((v) => JSON.stringify(v) === JSON.stringify(schema.default)));
    read = () => (input.value === '' ? undefined : schema.enum[Number(input.value)]);
  } else if (type === 'boolean') {
    input = el('input', { id, name: path, type: 'checkbox', checked: schema.default === true });
    read = () => input.checked;
  } else if (type === 'number' || type === 'integer') {
    input = el('input', {
      id, name: path, type: 'number', step: type === 'integer' ? '1' : 'any',
      min: schema.minimum, max: schema.maximum, value: schema.default,
    });
    read = () => {
      if (input.value.trim() === '') return undefined;
      const n = Number(input.value);
      if (Number.isNaN(n)) throw Object.assign(new Error(`${label}: not a number`), { field: path });
      return n;
    };
  } else if (type === 'string') {
    const kind = FORMAT_INPUT[schema.format];
    const long = schema.format === 'textarea' || (schema.maxLength ?? 0) > 200;
    input = long
      ? el('textarea', { id, name: path, rows: 3, maxlength: schema.maxLength })
      : el('input', { id, name: path, type: kind ?? 'text', placeholder: schema.examples?.[0], value: schema.default });
    if (long && schema.default !== undefined) input.value = schema.default;
    // Empty means absent for an optional field, and the empty string for a required one (the server says if that is allowed).
    read = () => (input.value === '' && !required ? undefined : input.value);
  } else {
    // Arrays, unions and untyped values: a JSON box for this value only.
    input = el('textarea', { id, name: path, rows: 3, spellcheck: 'false', class: 'mono', placeholder: 'JSON' });
    if (schema.default !== undefined) input.value = JSON.stringify(schema.default);
    read = () => {
      if (input.value.trim() === '') return undefined;
      try { return JSON.parse(input.value); } catch (e) { throw Object.assign(new Error(`${label}: not valid JSON: ${e.message}`), { field: path }); }
    };
  }
  input.dataset.path = path;
  const caption = el('span', { class: 'label', text: label }, required ? [el('span', { class: 'req', title: 'required', text: ' *' })] : []);
  const row = el('div', { class: `field${type === 'boolean' ? ' check' : ''}`, dataset: { path } }, [
    type === 'boolean' ? el('label', { for: id }, [input, caption]) : el('label', { for: id }, [caption]),
    ...(type === 'boolean' ? [] : [input]),
    ...(schema.description ? [el('span', { class: 'muted hint', text: schema.description })] : []),
    error,
  ]);
  fields.push({ path, read, error, input });
  return row;
}
