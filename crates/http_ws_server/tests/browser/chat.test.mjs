// Lesson 07's chat page in a real browser: headless Chromium, driven by Playwright.
// Run it with scripts/test-browser (it builds the binaries and installs what this
// needs); `cargo test --workspace` does not need a browser.
//
// Two pages and one terminal client (lesson 08) join the same server. A message typed
// in page A appears in page B and in the terminal; a message POSTed over HTTP appears
// in both pages; HTML markup is shown as text; the server is killed and started again
// on the same port, and both pages and the terminal client reconnect by themselves
// and chat again. Every wait has a deadline; nothing waits on a fixed sleep.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import { X509Certificate, createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const BIN = process.env.BIN_DIR ?? path.resolve("../../../../target/debug");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOT_DIR ?? path.resolve("../../../../target/browser");
const WAIT = 15_000; // ms: the deadline for anything we wait for

// A program whose output lines we can wait for.
function start(name, args, { stdin = "ignore", cwd = undefined } = {}) {
  const child = spawn(path.join(BIN, name), args, {
    cwd,
    stdio: [stdin, "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "info", LESSON_ADDR: "" },
  });
  const lines = [];
  const waiters = [];
  const onData = (chunk) => {
    for (const line of chunk.toString().split("\n")) {
      if (!line) continue;
      lines.push(line);
      for (const waiter of [...waiters]) waiter();
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  child.lines = lines;
  let seen = 0; // lines before this index have been matched already
  child.waitFor = (needle) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const at = lines.findIndex((line, i) => i >= seen && line.includes(needle));
        if (at >= 0) {
          seen = at + 1;
          waiters.splice(waiters.indexOf(check), 1);
          clearTimeout(timer);
          resolve(lines[at]);
        }
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(check), 1);
        reject(new Error(`${name}: no line with ${JSON.stringify(needle)} in ${WAIT} ms:\n${lines.join("\n")}`));
      }, WAIT);
      waiters.push(check);
      check();
    });
  return child;
}

async function startServer(addr) {
  const server = start("http_ws_server", ["--addr", addr]);
  const line = await server.waitFor("Listening on http://");
  server.addr = line.split("http://")[1];
  return server;
}

// Another lesson's server, on a free port; `addr` is where it listens.
async function startProgram(name, listening) {
  const program = start(name, ["--addr", "127.0.0.1:0"]);
  const line = await program.waitFor(listening);
  program.addr = line.split("://")[1].replace(/\/$/, "");
  return program;
}

const BROWSER_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--disable-dev-shm-usage",
];

function stop(child, signal = "SIGINT") {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill(signal);
  });
}

async function openPage(browser, addr) {
  const page = await browser.newPage();
  page.setDefaultTimeout(WAIT);
  await page.goto(`http://${addr}/`);
  await page.locator("#state", { hasText: "open" }).waitFor();
  return page;
}

async function say(page, text) {
  await page.fill("#text", text);
  await page.click("#send");
}

// axe-core, the accessibility checker, run inside the page: every problem it
// finds, of any impact, one line each.
const AXE = readFileSync(path.resolve("node_modules/axe-core/axe.min.js"), "utf8");
async function accessibilityProblems(page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(() => globalThis.axe.run());
  return result.violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(", ")})`);
}

// The text of every message line on a page, as the user sees it.
const shown = (page) => page.locator("#messages li").allTextContents();

test("two pages and a terminal client chat, survive a restart, and show markup as text", async () => {
  let server = await startServer("127.0.0.1:0");
  const addr = server.addr;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  let terminal = null;
  try {
    // One after another: sessions started together sometimes stall.
    const a = await openPage(browser, addr);
    const b = await openPage(browser, addr);
    // The page declares it has no icon, so no browser asks for /favicon.ico.
    assert.ok(!server.lines.some((line) => line.includes("favicon")), server.lines.join("\n"));
    terminal = start("ws_reconnect_client", ["--addr", addr], { stdin: "pipe" });
    await terminal.waitFor("* you are guest-3");

    await say(a, "hello from page A");
    await b.locator("#messages li", { hasText: "guest-1: hello from page A" }).waitFor();
    await terminal.waitFor("guest-1: hello from page A");

    const posted = await fetch(`http://${addr}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "curl", text: "hello over HTTP" }),
    });
    assert.equal(posted.status, 201);
    for (const page of [a, b]) {
      await page.locator("#messages li", { hasText: "curl: hello over HTTP" }).waitFor();
    }

    const markup = `<b>bold?</b><img src=x onerror="document.title='pwned'">`;
    await say(b, markup);
    await a.locator("#messages li", { hasText: "guest-2: <b>bold?</b>" }).waitFor();
    assert.ok((await shown(a)).includes(`guest-2: ${markup}`), "the markup is shown as text");
    assert.equal(await a.locator("#messages b, #messages img").count(), 0, "no element was made from it");
    assert.notEqual(await a.title(), "pwned");

    // Each join is shown once: a page's own arrival is its welcome, not a join too.
    assert.equal(await a.locator("#messages li", { hasText: "guest-1 joined" }).count(), 0);
    assert.equal(await a.locator("#messages li", { hasText: "guest-2 joined" }).count(), 1);

    // A rename; then the same name from the other page, refused: the error sits by
    // the rename box, which keeps the name, and looks unlike an event.
    await a.fill("#name", "Ada");
    await a.click("#rename");
    await a.locator("#me", { hasText: "Ada" }).waitFor();
    assert.equal(await a.inputValue("#name"), "", "a rename that happened empties the box");
    await b.fill("#name", "Ada");
    await b.click("#rename");
    await b.locator("#rename-error", { hasText: "taken" }).waitFor();
    assert.equal(await b.inputValue("#name"), "Ada", "a refused rename keeps the box");
    assert.equal(await b.locator("#messages li", { hasText: "taken" }).count(), 0, "the refusal is said once, by the box");
    const colour = (selector) => b.locator(selector).last().evaluate((e) => getComputedStyle(e).backgroundColor);
    const error = await colour("#rename-error");
    assert.notEqual(error, await colour("#messages li.event"), "an error looks unlike an event");

    // A long word wraps: the list never scrolls sideways.
    await say(b, "x".repeat(400));
    await a.locator("#messages li", { hasText: "xxxxxxxxxx" }).waitFor();
    const sideways = await a.locator("#messages").evaluate((list) => list.scrollWidth - list.clientWidth);
    assert.ok(sideways <= 1, `the list scrolls ${sideways} px sideways`);

    // What axe-core finds on a page with lines, an event, an error and a refusal.
    assert.deepEqual(await accessibilityProblems(b), [], "no accessibility problem");

    // Kill the server (no goodbye), start it again on the same port: the pages say
    // when they will try again, and A asks for its name again.
    // The state says "reconnecting" once (it is what a screen reader reads); the
    // countdown beside it, outside that live region, says when.
    await stop(server, "SIGKILL");
    for (const page of [a, b]) {
      await page.locator("#state", { hasText: /^reconnecting$/ }).waitFor();
      await page.locator("#retry-in", { hasText: /^in \d+ s$/ }).waitFor();
    }
    await terminal.waitFor("Disconnected: ");
    // After a few failures the wait is seconds long: "Retry now" does not wait for it.
    await a.locator("#retry-in", { hasText: /^in [5-9] s$/ }).waitFor({ timeout: 60_000 });
    const read = Date.now();
    const left = Number((await a.locator("#retry-in").textContent()).match(/\d+/)[0]);
    server = await startServer(addr);
    await a.click("#retry");
    await a.locator("#state", { hasText: "open" }).waitFor();
    // Open before the countdown's try would have come: the button brought it forward.
    const took = Date.now() - read;
    assert.ok(took < (left - 1) * 1000, `open after ${took} ms, the countdown said ${left} s`);
    assert.ok(await a.locator("#retry").isHidden(), "no Retry now once open");
    for (const page of [a, b]) await page.locator("#state", { hasText: "open" }).waitFor();
    await a.locator("#me", { hasText: "Ada" }).waitFor();
    await terminal.waitFor("Connected to ");

    await say(b, "we are back");
    await a.locator("#messages li", { hasText: ": we are back" }).waitFor();
    await terminal.waitFor(": we are back");
    terminal.stdin.write("the terminal is back too\n");
    for (const page of [a, b]) {
      await page.locator("#messages li", { hasText: ": the terminal is back too" }).waitFor();
    }

    mkdirSync(SHOTS, { recursive: true });
    await a.screenshot({ path: path.join(SHOTS, "chat-page-a.png") });
    await b.screenshot({ path: path.join(SHOTS, "chat-page-b.png") });
  } finally {
    await browser.close();
    if (terminal) {
      terminal.stdin.end();
      await stop(terminal);
    }
    await stop(server);
  }
});

// What pages 01 and 02 ask a student to do in a browser, and the three lines pages 03
// and 05 tell a student to type into the browser's console,
// read from page 03 itself, typed one at a time as a person would: by the time the
// third is typed, the socket is open.
test("pages 01 and 02 in the browser, and the console lines of pages 03 and 05", async () => {
  const page03 = readFileSync(path.resolve("../../../../lessons/03-ws-echo-server.md"), "utf8");
  const snippet = page03.match(/```js\n([\s\S]*?)```/)[1].trim().split("\n").map((l) => l.trim());
  assert.equal(snippet.length, 3, snippet.join("\n"));
  const web = await startProgram("http_server", "Listening on http://");
  const echo = await startProgram("ws_echo_server", "Listening on ws://");
  const chat = await startProgram("ws_chat_server", "Listening on ws://");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    // Page 01: the greeting in the address bar, a name the browser percent-encodes.
    // Page 02: reloading quickly reuses the connection (the log says req #2).
    const hello = await browser.newPage();
    hello.setDefaultTimeout(WAIT);
    await hello.goto(`http://${web.addr}/hello?name=Alice`);
    assert.equal((await hello.textContent("body")).trim(), "Hello, Alice!");
    await hello.goto(`http://${web.addr}/hello?name=小明`);
    assert.equal((await hello.textContent("body")).trim(), "Hello, 小明!");
    await web.waitFor("GET /hello?name=%E5%B0%8F%E6%98%8E -> 200 OK");
    await hello.goto(`http://${web.addr}/`);
    await web.waitFor("GET / -> 200 OK");
    await hello.reload();
    const again = await web.waitFor("GET / -> 200 OK");
    assert.match(again, / req #([2-9]|\d\d+) /, "the reload came over a kept-alive connection");
    await hello.close();

    for (const [server, answer] of [
      [echo, "Server received: from the browser"],
      [chat, "you: from the browser"],
    ]) {
      const page = await browser.newPage();
      page.setDefaultTimeout(WAIT);
      await page.goto(`http://${web.addr}/hello?name=console`);
      const lines = snippet.map((line) => line.replace("ws://127.0.0.1:5001/", `ws://${server.addr}/`));
      await page.evaluate(lines[0]);
      await page.evaluate(lines[1]);
      await page.waitForFunction(() => window.ws.readyState === WebSocket.OPEN);
      const heard = page.waitForEvent("console", { predicate: (m) => m.text() === answer });
      await page.evaluate(lines[2]);
      await heard;
      await page.close();
    }
  } finally {
    await browser.close();
    for (const program of [web, echo, chat]) await stop(program);
  }
});

// Lesson 07 with --tls: the page over https://, its chat over wss://. Chromium is told
// to trust the server's own key (--ignore-certificate-errors-spki-list, the hash of
// the key in the certificate the server wrote), as a test profile may; nothing else
// about the certificate is skipped.
test("the chat page over https:// and wss:// with the server's own certificate", async () => {
  // In a folder of its own, where it writes its certificate, as in the workspace.
  const dir = mkdtempSync(path.join(os.tmpdir(), "lesson07-tls-"));
  const server = start("http_ws_server", ["--tls", "--addr", "127.0.0.1:0"], { cwd: dir });
  const listening = await server.waitFor("Listening on https://");
  const addr = listening.split("https://")[1];
  const pem = readFileSync(path.join(dir, "target/tls/http_ws_server.pem"), "utf8");
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  const pin = createHash("sha256").update(spki).digest("base64");
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...BROWSER_ARGS, `--ignore-certificate-errors-spki-list=${pin}`],
  });
  try {
    const pages = [];
    for (let i = 0; i < 2; i++) {
      const page = await browser.newPage();
      page.setDefaultTimeout(WAIT);
      await page.goto(`https://${addr}/`);
      await page.locator("#state", { hasText: "open" }).waitFor();
      pages.push(page);
    }
    await say(pages[0], "hello over wss");
    await pages[1].locator("#messages li", { hasText: "guest-1: hello over wss" }).waitFor();
    await server.waitFor("TLS: TLSv1_3");
    await server.waitFor("GET /ws -> 101 Switching Protocols");
    mkdirSync(SHOTS, { recursive: true });
    await pages[1].screenshot({ path: path.join(SHOTS, "chat-page-tls.png") });
  } finally {
    await browser.close();
    await stop(server);
  }
});

// A port nobody listens on a moment from now, for redis-server.
async function freePort() {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// Lesson 09: a page on one instance and lesson 09's terminal client on another are
// one room, through a real redis-server (started as the page says, on a free port,
// in a folder of its own, stopped by its pid). Stopping Redis splits the room
// visibly, starting it again heals it, and killing an instance is noticed.
test("lesson 09: a page on one instance and a terminal on another share one room", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lesson09-redis-"));
  const port = String(await freePort());
  const startRedis = async () => {
    const redis = spawn("redis-server", ["--port", port, "--bind", "127.0.0.1"], { cwd: dir });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("redis-server did not start")), WAIT);
      redis.stdout.on("data", (chunk) => {
        if (chunk.toString().includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    return redis;
  };
  let redis = await startRedis();
  process.env.LESSON_REDIS = `redis://127.0.0.1:${port}`;
  const instances = [];
  for (let i = 0; i < 2; i++) instances.push(await startProgram("http_ws_cluster", "Listening on http://"));
  delete process.env.LESSON_REDIS;
  const [a, b] = instances.map((instance) => instance.addr);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  let terminal = null;
  try {
    const page = await openPage(browser, a);
    assert.equal(await page.title(), "The lessons' chat");
    terminal = start("http_ws_cluster_client", ["--addr", b, "--addr", a], { stdin: "pipe" });
    await terminal.waitFor("* you are guest-2 (2 online)");
    await page.locator("#messages li", { hasText: "guest-2 joined (2 online)" }).waitFor();

    await say(page, "hello from the page on A");
    await terminal.waitFor("guest-1: hello from the page on A");
    terminal.stdin.write("hello from the terminal on B\n");
    await page.locator("#messages li", { hasText: "guest-2: hello from the terminal on B" }).waitFor();

    // Stop Redis: the room splits, and says so on both sides; then it heals.
    await stop(redis, "SIGTERM");
    await page.locator("#messages li", { hasText: "the room is split" }).waitFor();
    await terminal.waitFor("* the room is split");
    redis = await startRedis();
    await page.locator("#messages li", { hasText: "the room is whole again" }).waitFor();
    await terminal.waitFor("* the room is whole again");
    terminal.stdin.write("after the split\n");
    await page.locator("#messages li", { hasText: "guest-2: after the split" }).waitFor();

    // kill -9 the terminal's instance: the terminal moves to the page's instance (a
    // new guest there), and that instance counts the old one out, within 4 s.
    await stop(instances[1], "SIGKILL");
    await terminal.waitFor(`Connected to ws://${a}/ws`);
    await page.locator("#messages li", { hasText: "guest-3 joined" }).waitFor();
    await page.locator("#messages li", { hasText: "guest-2 left (2 online)" }).waitFor();
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, "chat-page-cluster.png") });
  } finally {
    await browser.close();
    if (terminal) {
      terminal.stdin.end();
      await stop(terminal);
    }
    for (const instance of instances) await stop(instance);
    await stop(redis, "SIGTERM");
  }
});

// The first versions' page (crates/http_ws_server/first/page.html): two tabs on
// lesson 07's first version chat in its JSON; then the same page on two lesson 09
// first-version instances through a real redis-server is one room.
test("the first versions of 07 and 09: two tabs, one room, also across two instances", async () => {
  const openFirst = async (browser, addr) => {
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(`http://${addr}/`);
    await page.waitForFunction(() => ws.readyState === WebSocket.OPEN);
    return page;
  };
  const type = async (page, text) => {
    await page.fill("#say", text);
    await page.press("#say", "Enter");
  };
  const heard = (page, text) => page.locator("#lines li", { hasText: text }).waitFor();
  const dir = mkdtempSync(path.join(os.tmpdir(), "first09-redis-"));
  const port = String(await freePort());
  const redis = spawn("redis-server", ["--port", port, "--bind", "127.0.0.1"], { cwd: dir });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start")), WAIT);
    redis.stdout.on("data", (chunk) => {
      if (chunk.toString().includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const programs = [await startProgram("http_ws_server_first", "Listening on http://")];
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const [one, two] = [await openFirst(browser, programs[0].addr), await openFirst(browser, programs[0].addr)];
    await type(one, "hello from one tab");
    await heard(one, ": hello from one tab");
    await heard(two, ": hello from one tab");
    process.env.LESSON_REDIS = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 2; i++) programs.push(await startProgram("http_ws_cluster_first", "Listening on http://"));
    delete process.env.LESSON_REDIS;
    const [a, b] = [await openFirst(browser, programs[1].addr), await openFirst(browser, programs[2].addr)];
    await type(b, "hi from the other instance");
    await heard(a, ": hi from the other instance");
    await heard(b, ": hi from the other instance");
  } finally {
    await browser.close();
    for (const program of programs) await stop(program);
    await stop(redis, "SIGTERM");
  }
});

// Lesson 10: nginx (the repository's proxy/nginx.conf, started as page 10 says, on
// free ports, in a folder of its own, stopped by its pid) in front of two lesson 09
// instances. The page and lesson 08's client go through nginx while lines are said
// through it; each instance in turn gets SIGTERM and starts again: both show every
// line once, in order. Then the config without its upgrade lines: the page's
// WebSocket is refused with 426, and the console says so.
test("lesson 10: through nginx, a rolling restart loses no line; without the upgrade lines, 426", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lesson10-"));
  const redisPort = String(await freePort());
  const redis = spawn("redis-server", ["--port", redisPort, "--bind", "127.0.0.1"], { cwd: dir });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start")), WAIT);
    redis.stdout.on("data", (chunk) => {
      if (chunk.toString().includes("Ready to accept connections")) { clearTimeout(timer); resolve(); }
    });
  });
  const ports = [await freePort(), await freePort()];
  const startInstance = async (port) => {
    const instance = start("http_ws_proxied", ["--addr", `127.0.0.1:${port}`, "--trust-proxy", "127.0.0.2"]);
    instance.env = process.env.LESSON_REDIS;
    await instance.waitFor("Listening on http://");
    return instance;
  };
  process.env.LESSON_REDIS = `redis://127.0.0.1:${redisPort}`;
  const instances = [await startInstance(ports[0]), await startInstance(ports[1])];
  const front = `127.0.0.1:${await freePort()}`;
  const startNginx = async (edit) => {
    const config = edit(readFileSync(path.resolve("../../../../proxy/nginx.conf"), "utf8"))
      .replace("127.0.0.1:8080", front)
      .replace("127.0.0.1:5004", `127.0.0.1:${ports[0]}`)
      .replace("127.0.0.1:5005", `127.0.0.1:${ports[1]}`);
    const folder = mkdtempSync(path.join(dir, "nginx-"));
    writeFileSync(path.join(folder, "nginx.conf"), config);
    // Its access log goes to stdout, which nginx opens as /dev/stdout: a file here
    // (a pipe from node is a socket, which cannot be opened so).
    const nginx = spawn("nginx", ["-e", "stderr", "-p", folder, "-c", path.join(folder, "nginx.conf")],
      { stdio: ["ignore", "ignore", "pipe"] });
    let said = "";
    nginx.stderr.on("data", (chunk) => { said += chunk; });
    const deadline = Date.now() + WAIT;
    for (;;) {
      try { await fetch(`http://${front}/api/online`); return nginx; } catch {}
      if (Date.now() > deadline || nginx.exitCode !== null) throw new Error(`nginx did not start: ${said}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  let nginx = await startNginx((config) => config);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  let terminal = null;
  let saying = true;
  try {
    const page = await openPage(browser, front);
    terminal = start("ws_reconnect_client", ["--addr", `ws://${front}/ws`], { stdin: "pipe" });
    await terminal.waitFor("* you are guest-");
    // Lines said through nginx, one every 20 ms, until the restarts are over.
    let said = 0;
    const sayer = (async () => {
      while (saying) {
        const n = said + 1;
        const answer = await fetch(`http://${front}/api/messages`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ name: "say", text: `line ${n}` }),
        });
        // 502: nginx reached no instance, so nothing was said: say it again.
        if (answer.status === 201) said = n;
        else assert.equal(answer.status, 502);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await terminal.waitFor("say: line 10");
    for (const [i, port] of ports.entries()) {
      await stop(instances[i], "SIGTERM");
      instances[i] = await startInstance(port);
      // nginx sends it requests again before the next one stops.
      await instances[i].waitFor("via 127.0.0.2:");
    }
    const last = said + 20;
    await terminal.waitFor(`say: line ${last}`);
    saying = false;
    await sayer;
    await page.locator("#messages li", { hasText: `say: line ${said}` }).waitFor();
    const lines = (await shown(page)).filter((line) => line.startsWith("say: line "));
    const expected = Array.from({ length: said }, (_, i) => `say: line ${i + 1}`);
    assert.deepEqual(lines, expected, "the page shows every line once, in order");
    const terminalLines = terminal.lines.filter((line) => line.startsWith("say: line "));
    assert.deepEqual(terminalLines, expected, "so does the terminal");
    assert.ok(terminal.lines.some((line) => line.includes("1001")), "the terminal was moved");
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, "chat-page-behind-nginx.png") });

    // Without the upgrade lines: the page's WebSocket is refused, and the console
    // says so (page 10 quotes it).
    await stop(nginx, "SIGTERM");
    nginx = await startNginx((config) =>
      config.split("\n").filter((line) => !/proxy_set_header (Upgrade|Connection)/.test(line)).join("\n"));
    const broken = await browser.newPage();
    const console = [];
    broken.on("console", (message) => console.push(message.text()));
    await broken.goto(`http://${front}/`);
    // The line page 10 quotes, at this test's address.
    const page10 = readFileSync(path.resolve("../../../../lessons/10-behind-a-proxy.md"), "utf8");
    const quoted = page10.split("\n").find((line) => line.startsWith("WebSocket connection to "));
    assert.ok(quoted, "page 10 quotes the console's line");
    const refused = quoted.replace("127.0.0.1:8080", front);
    const deadline = Date.now() + WAIT;
    while (!console.includes(refused)) {
      assert.ok(Date.now() < deadline, `no "${refused}" in the console:\n${console.join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await broken.locator("#state", { hasText: /^reconnecting$/ }).waitFor();
  } finally {
    saying = false;
    await browser.close();
    if (terminal) {
      terminal.stdin.end();
      await stop(terminal);
    }
    await stop(nginx, "SIGTERM");
    for (const instance of instances) await stop(instance);
    delete process.env.LESSON_REDIS;
    await stop(redis, "SIGTERM");
  }
});

// A server that serves lesson 07's page, then accepts every WebSocket and closes it
// at once: the page must back off as lesson 08 does (the wait doubles after each
// attempt, and starts afresh only after a connection that lasted 10 s), not come
// back every half second because each attempt did open.
test("the page backs off from a server that accepts and closes at once", async () => {
  const html = readFileSync(path.resolve("../../src/page.html"), "utf8");
  const attempts = [];
  let seen = null; // resolves once enough attempts have come
  const wanted = 5;
  const server = http.createServer((req, res) => {
    const json = req.url === "/api/messages";
    res.writeHead(200, { "content-type": json ? "application/json" : "text/html" });
    res.end(json ? "[]" : html);
  });
  server.on("upgrade", (req, socket) => {
    attempts.push(Date.now());
    const accept = createHash("sha1")
      .update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
      .digest("base64");
    socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
      `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    // A Close frame, 1001 (going away), and the end of the connection.
    socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe9]));
    if (attempts.length === wanted) seen();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = `127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`http://${addr}/`);
    await new Promise((resolve, reject) => {
      seen = resolve;
      setTimeout(() => reject(new Error(`${attempts.length} attempts in ${WAIT} ms`)), WAIT);
    });
    // Each wait is at least half the delay, which doubles from 0.5 s: 0.25 s, 0.5 s,
    // 1 s, 2 s at least (less 50 ms for timers), where a page that starts afresh at
    // every open would come back within 0.5 s each time.
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]);
    gaps.forEach((gap, i) => {
      const least = 250 * 2 ** i - 50;
      assert.ok(gap >= least, `wait ${i + 1} was ${gap} ms, less than ${least}: ${gaps}`);
    });
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, "07-backoff.png") });
  } finally {
    await browser.close();
    server.close();
  }
});

// Lesson 11: the chat behind a login. Two tabs of one browser share the session
// cookie; a second browser (its own cookies) is Bob. A name a live session holds is
// refused beside the form; a logout in one tab closes the other tab's socket with
// 4401, and both show the login form again, while Bob chats on; a page on another
// port has the cookie sent with its WebSocket, and only the Origin check stops it; a
// restart forgets Bob's session, and his page asks for a login. Then the first
// version: log in, and two tabs chat.
test("lesson 11: log in, chat in two tabs, log out in one and both ask for a login", async () => {
  let server = await startProgram("http_ws_login", "Listening on http://");
  const first = await startProgram("http_ws_login_first", "Listening on http://");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  const ada = await browser.newContext();
  const bob = await browser.newContext();
  const loggedOut = (page) => page.locator("#state", { hasText: "logged out" }).waitFor();
  const open = (page) => page.locator("#state", { hasText: "open" }).waitFor();
  const logIn = async (page, name) => {
    await page.fill("#name", name);
    await page.click("#login");
  };
  const newTab = async (context) => {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(`http://${server.addr}/`);
    return page;
  };
  try {
    const a1 = await newTab(ada);
    await loggedOut(a1);
    assert.deepEqual(await accessibilityProblems(a1), []);
    await logIn(a1, "Ada");
    await open(a1);
    assert.equal(await a1.locator("#me").textContent(), "Ada");
    // The second tab has the cookie already: /api/me says who it is, no form.
    const a2 = await newTab(ada);
    await open(a2);
    assert.equal(await a2.locator("#me").textContent(), "Ada");
    assert.equal(await a2.locator("#login-form").isHidden(), true);
    // No script can read the session cookie.
    assert.equal(await a2.evaluate(() => document.cookie), "");

    const b = await newTab(bob);
    await loggedOut(b);
    await logIn(b, "Ada");
    await b.locator("#login-error", { hasText: "Ada is logged in already" }).waitFor();
    await logIn(b, "Bob");
    await open(b);

    await say(a1, "hello from tab one");
    await a2.locator("#messages li", { hasText: "Ada: hello from tab one" }).waitFor();
    await b.locator("#messages li", { hasText: "Ada: hello from tab one" }).waitFor();

    await a2.click("#logout");
    await a1.locator("#login-error", { hasText: "Your session ended: log in again." }).waitFor();
    await loggedOut(a1);
    await loggedOut(a2);
    await server.waitFor("Ada's session ended");
    await say(b, "Bob is still here");
    await b.locator("#messages li", { hasText: "Bob: Bob is still here" }).waitFor();
    mkdirSync(SHOTS, { recursive: true });
    await a1.screenshot({ path: path.join(SHOTS, "11-logged-out.png") });
    assert.deepEqual(await accessibilityProblems(a1), []);

    // A page on another port of this machine is the same site: the browser sends it
    // the SameSite=Strict cookie with its WebSocket. Only the Origin check stops it.
    // With --allow-origin for that port, the server lets it in: as Ada, which shows
    // the cookie went with it; without, 403.
    const other = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><title>Another port</title><p id="said">...</p><script>
        const ws = new WebSocket("ws://" + new URLSearchParams(location.search).get("server") + "/ws");
        ws.onmessage = (event) => { said.textContent = event.data; };
        ws.onclose = (event) => { if (said.textContent === "...") said.textContent = "closed " + event.code; };
      </script>`);
    });
    await new Promise((resolve) => other.listen(0, "127.0.0.1", resolve));
    const otherOrigin = `http://127.0.0.1:${other.address().port}`;
    const allowing = start("http_ws_login", ["--addr", "127.0.0.1:0", "--allow-origin", otherOrigin]);
    allowing.addr = (await allowing.waitFor("Listening on http://")).split("http://")[1];
    try {
      const mine = await ada.newPage();
      mine.setDefaultTimeout(WAIT);
      await mine.goto(`http://${allowing.addr}/`);
      await logIn(mine, "Carol");
      await open(mine);
      const evil = await ada.newPage();
      evil.setDefaultTimeout(WAIT);
      await evil.goto(`${otherOrigin}/?server=${allowing.addr}`);
      await evil.locator("#said", { hasText: '"name":"Carol"' }).waitFor();
      await evil.goto(`${otherOrigin}/?server=${server.addr}`);
      await evil.locator("#said", { hasText: "closed" }).waitFor();
      await server.waitFor("GET /ws -> 403 Forbidden");
    } finally {
      await stop(allowing);
      other.close();
    }

    // A restart forgets every session: Bob's page reconnects, its handshake is
    // refused (401, which a script never sees), /api/me says 401, and the page asks
    // for a login instead of reconnecting for ever.
    const addr = server.addr;
    await stop(server);
    server = start("http_ws_login", ["--addr", addr]);
    server.addr = addr;
    await server.waitFor("Listening on http://");
    await server.waitFor("GET /ws -> 401 Unauthorized");
    await loggedOut(b);
    await server.waitFor("GET /api/me -> 401 Unauthorized");

    // The first version: a login, then two tabs of that browser chat.
    const f1 = await ada.newPage();
    const f2 = await ada.newPage();
    for (const page of [f1, f2]) {
      page.setDefaultTimeout(WAIT);
      await page.goto(`http://${first.addr}/`);
      await page.fill("#user", "Ada");
      await page.press("#user", "Enter");
      await page.waitForFunction(() => ws && ws.readyState === WebSocket.OPEN);
    }
    await f1.fill("#say", "hello from the first version");
    await f1.press("#say", "Enter");
    await f2.locator("#lines li", { hasText: "Ada: hello from the first version" }).waitFor();
  } finally {
    await browser.close();
    await stop(server);
    await stop(first);
  }
});

test("lesson 13: one room heard four ways, each line once and in order; a seventh stream waits", async () => {
  const server = await startProgram("http_push", "Listening on http://");
  const first = await startProgram("http_push_first", "Listening on http://");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  // The chat lines a page shows (not its notices), in order.
  const chats = async (page) =>
    (await page.locator("#messages li:not(.event)").allTextContents()).filter((line) => line.includes(": "));
  const tab = async (context, via) => {
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    await page.goto(`http://${server.addr}/?via=${via}`);
    await page.locator("#state", { hasText: "open" }).waitFor();
    return page;
  };
  try {
    // One context (one profile) for each way: the six-connection limit below is
    // a profile's, and each of these holds a connection or two.
    const ways = ["ws", "sse", "long-poll", "poll"];
    const pages = [];
    for (const via of ways) pages.push(await tab(await browser.newContext(), via));
    assert.deepEqual(await accessibilityProblems(pages[1]), []);
    await say(pages[0], "one, by WebSocket");
    await say(pages[1], "two, by POST from the event stream's page");
    await say(pages[3], "three, by POST from the polling page");
    for (const page of pages) {
      await page.locator("#messages li", { hasText: "three, by POST" }).waitFor();
      const lines = await chats(page);
      assert.equal(lines.length, 3, `${page.url()}: ${lines}`);
      assert.match(lines[0], /one, by WebSocket$/);
      assert.match(lines[1], /two, by POST/);
      assert.match(lines[2], /three, by POST/);
    }
    // Switching ways on one page: the lines it has are not shown again, and the
    // next one comes the new way.
    await pages[1].check('input[value="poll"]');
    await pages[1].check('input[value="ws"]');
    await pages[1].locator("#state", { hasText: "open" }).waitFor();
    await say(pages[2], "four, after the switch");
    for (const page of pages) await page.locator("#messages li", { hasText: "four, after the switch" }).waitFor();
    assert.equal((await chats(pages[1])).length, 4);
    mkdirSync(SHOTS, { recursive: true });
    await pages[1].screenshot({ path: path.join(SHOTS, "13-four-ways.png") });

    // HTTP/1.1 in one browser profile: at most six connections to a host. Six tabs
    // hold an event stream each; a seventh tab's stream waits for a free one, and
    // gets one when a tab closes.
    const profile = await browser.newContext();
    const streams = [];
    for (let n = 0; n < 7; n++) {
      const page = await profile.newPage();
      page.setDefaultTimeout(WAIT);
      // Polling first (its page and questions need a connection only for a moment),
      // then the switch to a stream that holds one.
      await page.goto(`http://${server.addr}/?via=poll`);
      await page.locator("#state", { hasText: "open" }).waitFor();
      streams.push(page);
    }
    for (const page of streams.slice(0, 6)) {
      await page.check('input[value="sse"]');
      await page.locator("#state", { hasText: "open" }).waitFor();
    }
    await streams[6].check('input[value="sse"]');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(await streams[6].locator("#state").textContent(), "connecting");
    await streams[0].close();
    await streams[6].locator("#state", { hasText: "open" }).waitFor();

    // The first version's page: an EventSource, and lines said by POST.
    const f1 = await (await browser.newContext()).newPage();
    const f2 = await (await browser.newContext()).newPage();
    for (const page of [f1, f2]) {
      page.setDefaultTimeout(WAIT);
      await page.goto(`http://${first.addr}/`);
      await first.waitFor("hears the room as events");
    }
    await f1.fill("#say", "hello from the first version");
    await f1.press("#say", "Enter");
    await f2.locator("#lines li", { hasText: "web: hello from the first version" }).waitFor();
  } finally {
    await browser.close();
    await stop(server);
    await stop(first);
  }
});
