/**
 * etcd's HTTP health endpoints, read from raw HTTP/1.1 answers: `GET /livez?verbose` (the process is alive, not
 * deadlocked) and `GET /readyz?verbose` (data_corruption, serializable_read, linearizable_read and, from 3.5.19 and
 * 3.6, non_learner: it fails on a learner by design). Served from 3.4.29, 3.5.11 and 3.6; older etcd answers 404.
 */

/** One HTTP answer of a stream of pipelined answers. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** A check etcd reports as failed: `[-]NAME failed: REASON`. */
export interface FailedCheck {
  check: string;
  reason: string;
}

/** What one endpoint says: ok, or the checks that failed (each line `[-]…` of its verbose answer). */
export interface HealthVerdict {
  ok: boolean;
  failed: FailedCheck[];
}

/** A member's /livez and /readyz, when its etcd serves them. */
export interface MemberHealth {
  live: HealthVerdict;
  ready: HealthVerdict;
}

const STATUS_LINE = /HTTP\/1\.[01] (\d{3})/;

/**
 * The answers of pipelined requests, in order, from what the connection carried: each status line, its headers, and
 * a body of Content-Length bytes (the body of an answer without one runs to the next status line).
 */
export function splitHttpAnswers(text: string): HttpAnswer[] {
  const answers: HttpAnswer[] = [];
  let rest = text;
  for (;;) {
    const start = rest.search(STATUS_LINE);
    const headerEnd = /\r?\n\r?\n/.exec(rest.slice(Math.max(start, 0)));
    if (start < 0 || !headerEnd) return answers;
    const head = rest.slice(start, start + headerEnd.index).split(/\r?\n/);
    rest = rest.slice(start + headerEnd.index + headerEnd[0].length);
    const length = head.map((line) => /^content-length:\s*(\d+)/i.exec(line)?.[1]).find(Boolean);
    // Content-Length counts bytes; the text is decoded: take as many characters as those bytes make.
    const end =
      length === undefined ? nextStatusLine(rest) : Buffer.from(rest).subarray(0, Number(length)).toString().length;
    answers.push({ status: Number(STATUS_LINE.exec(head[0] ?? "")?.[1]), body: rest.slice(0, end) });
    rest = rest.slice(end);
  }
}

function nextStatusLine(text: string): number {
  const at = text.search(STATUS_LINE);
  return at < 0 ? text.length : at;
}

/** A verbose /livez or /readyz answer; undefined when the endpoint does not exist (404: etcd older than it). */
export function parseHealthAnswer(answer: HttpAnswer | undefined): HealthVerdict | undefined {
  if (!answer || answer.status === 404) return undefined;
  const failed = answer.body.split("\n").flatMap((line) => {
    const match = /^\[-\](\S+) failed: ?(.*)$/.exec(line.trim());
    return match?.[1] ? [{ check: match[1], reason: match[2] ?? "" }] : [];
  });
  if (answer.status === 200) return { ok: true, failed: [] };
  const firstLine = answer.body.trim().split("\n")[0] ?? "";
  return { ok: false, failed: failed.length > 0 ? failed : [{ check: `HTTP ${answer.status}`, reason: firstLine }] };
}

/**
 * /livez and /readyz from the answers to `GET /version`, `GET /livez?verbose`, `GET /readyz?verbose` (in that
 * order). Undefined when /livez is absent (404, or an older probe that asked /version alone). A /readyz that did not
 * answer in `timeoutS` while /livez did (a linearizable read that hangs) is not ready.
 */
export function parseMemberHealth(answers: readonly HttpAnswer[], timeoutS: number): MemberHealth | undefined {
  const live = parseHealthAnswer(answers[1]);
  if (!live) return undefined;
  const ready = answers[2]
    ? parseHealthAnswer(answers[2])
    : { ok: false, failed: [{ check: "answer", reason: `no answer within ${timeoutS} s` }] };
  return ready ? { live, ready } : undefined;
}
