/** One certificate of the pair as status reports it. */
export interface CertificateState {
  /** e.g. "CA", "alpha", "client (etcd-pair)". */
  label: string;
  file: string;
  /** undefined when the file is missing or unreadable. */
  notAfter?: string;
  daysLeft?: number;
}

export interface TlsState {
  /** "mutual": clients and peers present certificates; "plaintext" only by the config's tls: false. */
  mode: "mutual" | "plaintext";
  certificates: CertificateState[];
  /** Make the pair unhealthy: an expired or missing certificate. */
  problems: string[];
  warnings: string[];
}

/** Within this many days of its end a certificate is worth a warning (`up` issues it again from 30 days). */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

export const PLAINTEXT_WARNING =
  "the pair runs in plain text (tls: false): anyone who reaches the client or peer ports can read and " +
  "write etcd; remove tls: false from the config and run up to switch to mutual TLS";

/** The label status gives the CA's certificate. */
export const CA_LABEL = "CA";

/** `up` issues member and client certificates again; the CA it never replaces (that is a rotation). */
function renewal(label: string): string {
  return label === CA_LABEL
    ? "rotate the CA: up never replaces it; follow the README's three certs renew runs (Security: rotating the CA)"
    : "run 'etcd-pair up' (or 'etcd-pair certs renew') to renew it";
}

/** Judges the pair's certificates (as read on the controller) at `now`. */
export function judgeTls(
  certificates: readonly { label: string; file: string; notAfter?: Date }[] | undefined,
  now: Date,
): TlsState {
  if (!certificates) {
    return {
      mode: "plaintext",
      certificates: [],
      problems: [],
      warnings: [PLAINTEXT_WARNING],
    };
  }
  const state: TlsState = { mode: "mutual", certificates: [], problems: [], warnings: [] };
  for (const cert of certificates) {
    if (!cert.notAfter) {
      state.certificates.push({ label: cert.label, file: cert.file });
      state.problems.push(`certificate ${cert.label} (${cert.file}) is missing: run 'etcd-pair up' to issue it`);
      continue;
    }
    const daysLeft = Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
    state.certificates.push({ label: cert.label, file: cert.file, notAfter: cert.notAfter.toISOString(), daysLeft });
    if (cert.notAfter.getTime() <= now.getTime()) {
      state.problems.push(`certificate ${cert.label} expired on ${cert.notAfter.toISOString()}`);
    } else if (daysLeft < EXPIRY_WARNING_DAYS) {
      state.warnings.push(
        `certificate ${cert.label} expires in ${daysLeft} days (${cert.notAfter.toISOString()}): ${renewal(cert.label)}`,
      );
    }
  }
  return state;
}
