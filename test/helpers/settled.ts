import { postJson } from "./etcdHttp.js";
import type { TestPair } from "./pair.js";
import { until } from "./until.js";

/** A member's storage version as its own status reports it (/v3/maintenance/status); etcd 3.4/3.5 report none. */
async function storageVersion(pair: TestPair, node: "alpha" | "beta"): Promise<string> {
  const response = await postJson(`${pair.url(node)}/v3/maintenance/status`, {}, await pair.clientTls(), 5000);
  return String((response.body as { storageVersion?: string } | undefined)?.storageVersion ?? "");
}

/**
 * Waits until a freshly started pair has made the one write etcd 3.6 and 3.7 make on their own after a learner
 * joins: the learner records its storage version in bbolt (member/snap/db), and its first try fails ("cannot
 * detect storage schema version: missing confstate information"), so it lands about 4 s after `up` (the
 * storage-version monitor's interval; measured on 3.6.14 and 3.7.1). Tests that fingerprint the data dirs
 * around a read-only command wait for it first: otherwise it lands in the middle and looks like the command's.
 * Done when both members report the same storage version (3.4 and 3.5 report none: at once), then one backend
 * commit interval more (100 ms) for it to reach the file.
 */
export async function storageVersionsSettled(pair: TestPair): Promise<void> {
  let seen = "";
  await until(
    "both members report the same storage version",
    async () => {
      const [alpha, beta] = [await storageVersion(pair, "alpha"), await storageVersion(pair, "beta")];
      seen = `alpha ${alpha || "(none)"}, beta ${beta || "(none)"}`;
      return alpha === beta;
    },
    { timeoutMs: 30_000, intervalMs: 200, seen: () => seen },
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
}
