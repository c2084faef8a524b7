import { createPrivateKey, X509Certificate } from "node:crypto";

// Reading certificates needs only node:crypto; issuing them (certificates.ts) loads @peculiar/x509, which
// costs ~200 ms at startup: commands that only read (status, check) never load it.

/** The PEM certificates in a file, in order (a CA file may hold a bundle). */
export function pemCertificates(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}

/** What matters about a certificate already issued. */
export interface CertificateFacts {
  subject: string;
  notAfter: Date;
  /** DNS names and IP addresses. */
  names: string[];
  issuedBy(ca: string): boolean;
  /** The private key (PEM) is this certificate's: a crash between writing the two must not ship a mismatch. */
  matchesKey(keyPem: string): boolean;
}

export function certificateFacts(pem: string): CertificateFacts {
  const cert = new X509Certificate(pem);
  const names = (cert.subjectAltName ?? "")
    .split(", ")
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ""))
    .filter(Boolean);
  return {
    subject: cert.subject,
    notAfter: new Date(cert.validTo),
    names,
    matchesKey: (keyPem) => {
      try {
        return cert.checkPrivateKey(createPrivateKey(keyPem));
      } catch {
        return false;
      }
    },
    // By the signing CA: the first certificate of a CA file.
    issuedBy: (caPem) => {
      const first = pemCertificates(caPem)[0];
      if (!first) return false;
      const ca = new X509Certificate(first);
      return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    },
  };
}
