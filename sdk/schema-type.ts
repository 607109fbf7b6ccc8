/**
 * The TypeScript type a JSON Schema literal describes, so a handler's `input` is typed
 * from the component's `inputSchema` without writing the type twice:
 *
 *   server.component('double', {
 *     inputSchema: { type: 'object', required: ['x'], properties: { x: { type: 'number' } } },
 *   }, async (input) => ({ y: input.x * 2 }));     // input: { x: number }
 *
 * Understood: `type` (one or a list), `properties` with `required`, `items`, `enum`,
 * `const`, `anyOf`/`oneOf`. A schema it cannot read (a `$ref`, a variable typed as
 * `JsonSchema`) gives `any`, as before; annotate the handler's parameter instead
 * (`async (input: MyInput) => ...`) — that annotation wins over the schema.
 */
export type SchemaType<S> =
  S extends { const: infer C } ? C
  : S extends { enum: readonly (infer E)[] } ? E
  : S extends { anyOf: readonly (infer A)[] } ? SchemaType<A>
  : S extends { oneOf: readonly (infer A)[] } ? SchemaType<A>
  : S extends { type: infer T } ? TypeOf<T, S>
  : S extends { properties: object } ? ObjectOf<S>
  : any; // an unreadable schema: untyped, as before

type TypeOf<T, S> =
  T extends readonly (infer U)[] ? TypeOf<U, S>
  : T extends 'object' ? ObjectOf<S>
  : T extends 'array' ? (S extends { items: infer I } ? SchemaType<I>[] : unknown[])
  : T extends 'string' ? string
  : T extends 'number' | 'integer' ? number
  : T extends 'boolean' ? boolean
  : T extends 'null' ? null
  : any; // a `type` that is not a literal

type RequiredOf<S> = S extends { required: readonly (infer R)[] } ? Extract<R, string> : never;

type ObjectOf<S> = S extends { properties: infer P }
  ? Flatten<{ [K in keyof P & RequiredOf<S>]: SchemaType<P[K]> } & { [K in Exclude<keyof P, RequiredOf<S>>]?: SchemaType<P[K]> }>
  : Record<string, unknown>;

type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** A handler's input: from the schema when there is one, else `any` (no schema, no type). */
export type InputOf<S> = [S] extends [undefined] ? any : SchemaType<S>;
