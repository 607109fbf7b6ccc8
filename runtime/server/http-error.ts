/** An error that is only meaningful over HTTP (auth, conflict): carries its status. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly data?: unknown) {
    super(message);
    this.name = 'HttpError';
  }
}
