// A real nginx for the remote-cache tests: started on 127.0.0.1 with a config, prefix,
// pid, logs and temp paths of its own in a temp directory, stopped by the test.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { createTempDirectory, removeDirectory } from "../../support/temp.ts";

/** The path nginx serves the cache under; the test stores point at `url`. */
const cachePath = "/cache";

/** The config a user copies from docs/remote.md, with this test's paths and port. */
export function nginxConfig(directory: string, port: number, tls = false): string {
  const runningAsRoot = process.getuid?.() === 0;
  return `daemon off;
${runningAsRoot ? "user root;" : ""}
worker_processes 1;
pid ${directory}/nginx.pid;
error_log ${directory}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${directory}/tmp/body;
  proxy_temp_path ${directory}/tmp/proxy;
  fastcgi_temp_path ${directory}/tmp/fastcgi;
  uwsgi_temp_path ${directory}/tmp/uwsgi;
  scgi_temp_path ${directory}/tmp/scgi;
  server {
    listen 127.0.0.1:${port}${tls ? ` ssl;
    ssl_certificate ${directory}/cert.pem;
    ssl_certificate_key ${directory}/key.pem` : ""};
    root ${directory}/root;
    location ${cachePath}/ {
      dav_methods PUT;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      client_max_body_size 0;
    }
  }
}
`;
}

/** A port nobody listens on right now (the kernel's pick, released at once). */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

export interface Nginx {
  url: string;
  /** With `tls`: the self-signed certificate (for 127.0.0.1) that a client must trust. */
  ca: string | null;
  port: number;
  /** Where the cache's files are: `${root}/cas/<id>`, `${root}/ac/<hash>`. */
  root: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops and removes everything. */
  dispose(): Promise<void>;
}

export function requireNginx(): string {
  const binary = Bun.which("nginx") ?? (existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : null);
  if (binary === null) {
    throw new Error("nginx is not installed: these tests need it (apt-get install -y nginx-light; .ci/run does this)");
  }
  return binary;
}

/** Starts nginx on a free port of 127.0.0.1 (with `tls`, https with a fresh self-signed certificate) and waits until it answers. */
export async function startNginx(options: { tls?: boolean } = {}): Promise<Nginx> {
  const binary = requireNginx();
  const tls = options.tls ?? false;
  const directory = createTempDirectory("mfa-nginx-");
  for (const sub of ["tmp", `root${cachePath}`]) mkdirSync(join(directory, sub), { recursive: true });
  const ca = tls ? selfSignedCertificate(directory) : null;
  const scheme = tls ? "https" : "http";
  let port = 0;
  let child: ReturnType<typeof Bun.spawn> | null = null;
  const start = async () => {
    // The port can be taken between choosing and binding it: try a few.
    for (let attempt = 0; attempt < 5; attempt++) {
      if (port === 0 || attempt > 0) port = freePort();
      writeFileSync(join(directory, "nginx.conf"), nginxConfig(directory, port, tls));
      child = Bun.spawn([binary, "-p", directory, "-e", join(directory, "error.log"), "-c", join(directory, "nginx.conf")], { stdout: "ignore", stderr: "pipe" });
      if (await answers(`${scheme}://127.0.0.1:${port}${cachePath}/cas/0`, ca, child)) return;
      child.kill("SIGKILL");
      await child.exited;
      child = null;
    }
    const log = existsSync(join(directory, "error.log")) ? readFileSync(join(directory, "error.log"), "utf8") : "";
    throw new Error(`nginx did not start on 127.0.0.1: ${log.slice(-2000)}`);
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (running === null) return;
    running.kill("SIGTERM");
    await running.exited;
  };
  await start();
  return {
    get url() {
      return `${scheme}://127.0.0.1:${port}${cachePath}`;
    },
    get port() {
      return port;
    },
    ca,
    root: join(directory, `root${cachePath}`),
    stop,
    start,
    async dispose() {
      await stop();
      removeDirectory(directory);
    },
  };
}

/** A self-signed certificate for 127.0.0.1 in `directory` (cert.pem, key.pem); returns the PEM. */
function selfSignedCertificate(directory: string): string {
  const result = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(directory, "key.pem"), "-out", join(directory, "cert.pem")],
    { stdout: "ignore", stderr: "pipe" },
  );
  if (result.exitCode !== 0) throw new Error(`openssl could not make a test certificate: ${result.stderr.toString()}`);
  return readFileSync(join(directory, "cert.pem"), "utf8");
}

/** Polls until nginx answers at `url` (at most 30 s), or its process ended. */
async function answers(url: string, ca: string | null, child: ReturnType<typeof Bun.spawn>): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000), ...(ca === null ? {} : { tls: { ca } }) });
      await response.body?.cancel();
      return true;
    } catch {
      await Bun.sleep(50);
    }
  }
  return false;
}
