import { afterAll } from "vitest";
import { removeScratchDirs } from "../helpers/scratch.js";

// Every test file's temp dirs go when the file is done, pass or fail; its own after-hooks (which stop etcd) run first.
afterAll(removeScratchDirs);
