import http from "node:http";
import https from "node:https";

/** The client certificate (and CA) a test presents to an etcd that requires them. */
export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

/** One POST to etcd's JSON gateway (http or https with a client certificate); resolves with status and body. */
export function postJson(
  url: string,
  body: unknown,
  tls: ClientTls | undefined,
  timeoutMs: number,
): Promise<{ status: number; body: unknown }> {
  const target = new URL(url);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const options = {
      method: "POST",
      timeout: timeoutMs,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
    };
    const onResponse = (response: http.IncomingMessage) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch (err) {
          reject(err as Error);
        }
      });
    };
    const request =
      target.protocol === "https:"
        ? https.request(target, { ...options, ...(tls ?? {}) }, onResponse)
        : http.request(target, options, onResponse);
    request.on("timeout", () => request.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end(payload);
  });
}

/** A GET over https with exactly the TLS options given; resolves with the HTTP status, rejects when TLS refuses. */
export function httpsGet(url: string, options: https.RequestOptions, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ...options, timeout: timeoutMs }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.on("timeout", () => request.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    request.on("error", reject);
  });
}
