import { readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import type { NodeSpec, PairSpec } from "../config/resolve.js";
import { clientUrl } from "../etcd/urls.js";
import { shQuote } from "../shell/quote.js";
import type { HostTransport } from "../transport/types.js";

/** How long one look at the main may take, from either side: a tick never waits longer. */
export const REACH_TIMEOUT_MS = 1500;

/** The controller's client certificate (made by `up` in tls.dir): the witness asks etcd as etcd-pair does. */
export interface WitnessTls {
  ca: string;
  cert: string;
  key: string;
}

export async function witnessTls(pair: PairSpec): Promise<WitnessTls | undefined> {
  if (!pair.tls) return undefined;
  const at = (file: string) => path.join(pair.tls?.dir ?? "", file);
  return {
    ca: await readFile(pair.tls.ca?.cert ?? at("ca.crt"), "utf8"),
    cert: await readFile(at("client.crt"), "utf8"),
    key: await readFile(at("client.key"), "utf8"),
  };
}

export interface Reach {
  reaches: boolean;
  detail?: string;
}

/**
 * The witness's own view: does the main's etcd answer on its client port (GET /health, any HTTP answer counts:
 * a process that answers is not dead)? From the machine watch runs on, so a path the learner does not share.
 */
export function witnessReaches(main: NodeSpec, tls: WitnessTls | undefined): Promise<Reach> {
  const url = new URL(`${clientUrl(main)}/health`);
  return new Promise((resolve) => {
    const done = (reach: Reach) => {
      clearTimeout(timer);
      request.destroy();
      resolve(reach);
    };
    const onResponse = (response: http.IncomingMessage) => {
      response.resume();
      done({ reaches: true, detail: `HTTP ${response.statusCode ?? 0}` });
    };
    const request =
      url.protocol === "https:"
        ? https.get(url, { ...(tls ?? {}), agent: false }, onResponse)
        : http.get(url, { agent: false }, onResponse);
    request.on("error", (err: NodeJS.ErrnoException) =>
      done({ reaches: false, detail: `${url.host}: ${err.code ?? err.message}` }),
    );
    const timer = setTimeout(
      () => done({ reaches: false, detail: `${url.host}: no answer within ${REACH_TIMEOUT_MS} ms` }),
      REACH_TIMEOUT_MS,
    );
  });
}

/** The learner host's view, as an operator would check it there: a TCP connection to the main's peer port. */
export function peerPortCheck(main: NodeSpec): string {
  const seconds = Math.ceil(REACH_TIMEOUT_MS / 1000);
  return (
    `timeout ${seconds} bash -c 'exec 3<>"/dev/tcp/$1/$2"' etcd-pair ${shQuote(main.address)} ` +
    `${shQuote(String(main.peerPort))} 2>&1; echo "exit=$?"`
  );
}

/** Runs peerPortCheck on the learner's host; undefined reaches: that host could not be asked in time. */
export async function learnerReaches(transport: HostTransport, main: NodeSpec): Promise<Reach & { asked: boolean }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), REACH_TIMEOUT_MS + 1500);
  });
  const asked = transport.exec(peerPortCheck(main), { timeoutMs: REACH_TIMEOUT_MS + 1000 }).then(
    (outcome) => outcome,
    (err: Error) => err,
  );
  const outcome = await Promise.race([asked, timeout]);
  clearTimeout(timer);
  if (outcome === undefined) return { asked: false, reaches: false, detail: "its host did not answer in time" };
  if (outcome instanceof Error) return { asked: false, reaches: false, detail: outcome.message };
  const exit = /exit=(\d+)\s*$/.exec(outcome.stdout)?.[1];
  if (exit === undefined) return { asked: false, reaches: false, detail: `no answer (exit ${outcome.code})` };
  if (exit === "0") return { asked: true, reaches: true };
  const said =
    outcome.stdout
      .replace(/exit=\d+\s*$/, "")
      .trim()
      .split("\n")
      .at(-1) ?? "";
  const why = exit === "124" ? "no answer" : said.replace(/^.*: /, "") || `exit ${exit}`;
  return { asked: true, reaches: false, detail: `${main.address}:${main.peerPort}: ${why}` };
}
