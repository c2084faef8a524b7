import type { AnyCommand } from "./command.js";
import { audit } from "./audit.js";
import { certsRenew } from "./certsRenew.js";
import { check } from "./check.js";
import { configSchema } from "./configSchema.js";
import { configValidate } from "./configValidate.js";
import { demo } from "./demo.js";
import { down } from "./down.js";
import { failover } from "./failover.js";
import { fenceTest } from "./fenceTest.js";
import { history } from "./history.js";
import { init } from "./init.js";
import { rejoin } from "./rejoin.js";
import { snapshotRestore } from "./snapshotRestore.js";
import { snapshotSave } from "./snapshotSave.js";
import { startAlone } from "./startAlone.js";
import { status } from "./status.js";
import { switchover } from "./switchover.js";
import { plan, up } from "./up.js";
import { upgrade } from "./upgrade.js";
import { versions } from "./versions.js";
import { watch } from "./watch.js";
import { pause, resume } from "./pause.js";

/** Every command of the CLI, in the order --help lists them. */
export const COMMANDS: readonly AnyCommand[] = [
  init,
  configSchema,
  configValidate,
  up,
  status,
  check,
  audit,
  versions,
  plan,
  down,
  failover,
  rejoin,
  startAlone,
  switchover,
  upgrade,
  watch,
  history,
  pause,
  resume,
  fenceTest,
  certsRenew,
  snapshotSave,
  snapshotRestore,
  demo,
];
