import { derivePairState, type PairState } from "../plan/pairState.js";
import type { Hosts } from "./hosts.js";
import { observePair } from "./observe.js";

export async function runStatus(hosts: Hosts): Promise<PairState> {
  return derivePairState(hosts.pair, await observePair(hosts));
}
