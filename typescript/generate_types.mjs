// Writes TypeScript types from the AsyncAPI document (manage.py asyncapi): one interface
// per channel payload (the REST response components, shared with the OpenAPI document),
// one per frame, and one union per socket of what it may receive (protocol frames, and
// with custom events) and send.
// Usage: node generate_types.mjs asyncapi.json out.d.ts
import { readFileSync, writeFileSync } from "node:fs";
import { compile } from "json-schema-to-typescript";

const [source, target] = process.argv.slice(2);
const asyncapi = JSON.parse(readFileSync(source, "utf8").replaceAll("#/components/schemas/", "#/definitions/"));
const pascal = (name) => name.replace(/(^|[_-])([a-z0-9])/g, (_, __, letter) => letter.toUpperCase());

const definitions = {};
for (const [name, schema] of Object.entries(asyncapi.components.schemas)) {
  definitions[name] = { ...schema, title: name };
}
for (const [name, message] of Object.entries(asyncapi.components.messages)) {
  definitions[pascal(name)] = { ...message.payload, title: pascal(name) };
}
const messageName = (ref) => pascal(ref.split("/").pop());
for (const [key, channel] of Object.entries(asyncapi.channels)) {
  const receives = asyncapi.operations[`receive_${key}`].messages.map((ref) => channel.messages[ref.$ref.split("/").pop()]);
  const sends = asyncapi.operations[`send_${key}`].messages.map((ref) => channel.messages[ref.$ref.split("/").pop()]);
  const union = (refs, title) => ({ title, oneOf: refs.map((ref) => ({ $ref: `#/definitions/${messageName(ref.$ref)}` })) });
  // Custom events take any type but the protocol's: kept out of the union a switch on
  // `type` narrows, and in ...AnyFrame with it.
  const custom = receives.filter((ref) => ref.$ref.endsWith("_custom"));
  const protocol = receives.filter((ref) => !ref.$ref.endsWith("_custom"));
  definitions[`${pascal(key)}ServerFrame`] = union(protocol, `${pascal(key)}ServerFrame`);
  definitions[`${pascal(key)}AnyFrame`] = {
    title: `${pascal(key)}AnyFrame`,
    oneOf: [{ $ref: `#/definitions/${pascal(key)}ServerFrame` }, ...union(custom, "").oneOf],
  };
  definitions[`${pascal(key)}ClientFrame`] = union(sends, `${pascal(key)}ClientFrame`);
}

const banner = `/* Generated from the AsyncAPI document (${asyncapi.info.title} ${asyncapi.info.version}) by
   typescript/generate_types.mjs: make types. Do not edit; regenerate after a serializer changes. */`;
const output = await compile({ title: "RealtimeSiteContract", definitions, additionalProperties: false }, "RealtimeSiteContract", {
  bannerComment: banner,
  unreachableDefinitions: true,
  additionalProperties: false,
  declareExternallyReferenced: true,
  format: true,
});
writeFileSync(target, output);
console.log(`wrote ${target}: ${Object.keys(definitions).length} types`);
