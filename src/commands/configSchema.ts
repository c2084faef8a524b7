import { z } from "zod";
import { configSchema as schema } from "../config/schema.js";
import type { LookCommand } from "./command.js";

export const configSchema: LookCommand<object, null, unknown> = {
  path: ["config", "schema"],
  description: "print the config's JSON Schema (for editors)",
  changesHosts: false,
  input: () => ({}),
  prepare: async () => null,
  run: async () => z.toJSONSchema(schema, { io: "input" }),
  report: (jsonSchema) => ({ json: jsonSchema, stdout: JSON.stringify(jsonSchema, null, 2) }),
};
