import type { NodeSpec, PairSpec } from "../config/resolve.js";
import type { EndpointStatus, Member } from "../etcd/status.js";
import { peerUrl } from "../etcd/urls.js";
import type { EtcdVersion } from "../etcd/version.js";
import type { NodeObservation } from "./observed.js";
import type { PairView } from "./pairView.js";

/**
 * The pair as the upgrade's steps planned so far will leave it: what the next steps are planned from (a learner
 * restarted on the target, a swap made). Used only for planning; every run looks at the real pair first.
 */

/** The member ID a promote needs of a node that has not rejoined yet: known only after it did (dry runs). */
export const placeholderId = (node: string) => `NEW-ID-OF-${node}`;

export function replaced(observations: readonly NodeObservation[], next: NodeObservation): NodeObservation[] {
  return observations.map((o) => (o.node === next.node ? next : o));
}

/** A status for a projection: the given fields over what some member reported. */
function statusLike(view: PairView, fields: Partial<EndpointStatus>): EndpointStatus {
  const base = view.observations.find((o) => o.status)?.status;
  if (!base) throw new Error("no member answered: nothing to project from");
  return { ...base, errors: [], ...fields };
}

/** The learner once restarted on the target: running, answering as a learner of `leader`. */
export function restartedLearner(
  view: PairView,
  learner: NodeSpec,
  leader: NodeSpec,
  target: EtcdVersion,
): NodeObservation {
  const obs = view.of(learner);
  const memberId = view.memberEntry(leader, learner)?.id ?? obs.status?.memberId ?? "";
  const leaderId = view.of(leader).status?.memberId ?? "";
  return {
    ...installed(view.pair, obs),
    running: true,
    status: statusLike(view, { ...obs.status, memberId, leaderId, isLearner: true, version: target.text }),
  };
}

/** A host once the upgrade installed the target's tarball on it (install: tarball). */
function installed(pair: PairSpec, obs: NodeObservation): NodeObservation {
  return pair.install.kind === "tarball" ? { ...obs, installedTarball: pair.install.sha256 } : obs;
}

/** The pair after a switchover to `newMain`: it leads alone with `oldMain` as its learner, both on the target. */
export function swapped(view: PairView, newMain: NodeSpec, oldMain: NodeSpec, target: EtcdVersion): NodeObservation[] {
  const newObs = view.of(newMain);
  const newId = newObs.status?.memberId ?? view.memberEntry(view.leader() ?? newMain, newMain)?.id ?? "";
  const oldId = placeholderId(oldMain.name);
  const member = (node: NodeSpec, id: string, isLearner: boolean): Member => ({
    id,
    name: node.name,
    peerUrls: [peerUrl(node)],
    clientUrls: [],
    isLearner,
  });
  const leaderStatus = statusLike(view, { memberId: newId, leaderId: newId, isLearner: false, version: target.text });
  const next: NodeObservation = {
    ...newObs,
    running: true,
    envState: "new",
    status: leaderStatus,
    members: {
      clusterId: leaderStatus.clusterId,
      members: [member(newMain, newId, false), member(oldMain, oldId, true)],
    },
  };
  const old: NodeObservation = {
    ...installed(view.pair, view.of(oldMain)),
    running: true,
    dataDir: "member",
    envState: "existing",
    status: { ...leaderStatus, memberId: oldId, isLearner: true },
  };
  delete old.members;
  return replaced(replaced(view.observations, next), old);
}
