// The lessons as a book (target/book, built by scripts/book), in headless Chromium,
// as a student reads them: commands that copy without their `$` and output, blocks
// that hide nothing sideways at 1280 px, code pages with colour, line anchors and a
// way back, and no accessibility problem that axe-core calls serious.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { chromium } from "playwright-core";

const BOOK = path.resolve(process.env.BOOK_DIR ?? "../../../../target/book");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WAIT = 15_000;
const BROWSER_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--disable-dev-shm-usage",
];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
  ".png": "image/png", ".woff2": "font/woff2", ".json": "application/json" };

// The book's files, served on a free port of 127.0.0.1, as `mdbook serve` would.
async function serveBook() {
  const server = http.createServer((req, res) => {
    const file = path.join(BOOK, decodeURIComponent(new URL(req.url, "http://x").pathname));
    const target = file.endsWith("/") ? path.join(file, "index.html") : file;
    if (!target.startsWith(BOOK) || !existsSync(target)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(target)] ?? "application/octet-stream" });
    res.end(readFileSync(target));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.base = `http://127.0.0.1:${server.address().port}`;
  return server;
}

const built = existsSync(path.join(BOOK, "01-http-server.html"));
const skip = !built && process.env.LESSONS_REQUIRE_TOOLS !== "1";
if (skip) console.log(`skipped: the book is not built (scripts/book builds it into ${BOOK})`);

test("the book as a student reads it", { skip }, async () => {
  assert.ok(built, `no book in ${BOOK}: run scripts/book first`);
  const server = await serveBook();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.base });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    const missing = [];
    page.on("response", (r) => { if (r.status() === 404) missing.push(r.url()); });

    // No console block on any lesson page hides part of a line sideways, and every
    // diagram renders (Mermaid draws "Syntax error in text" in place of one it
    // cannot read: a `;` inside a Note ends the statement, for one).
    const pages = ["01-http-server", "02-http-client", "03-ws-echo-server", "04-ws-echo-client",
      "05-ws-chat-server", "06-ws-chat-client", "07-http-ws-server", "08-ws-reconnect-client",
      "09-http-ws-cluster", "10-behind-a-proxy", "interop", "measuring"];
    const wide = [];
    const diagrams = [];
    // Every diagram's labels keep a size a person can read (12 px or more), on a
    // desktop and on a phone: a wide diagram scrolls sideways instead of shrinking.
    const small = [];
    const smallLabels = (page) => page.$$eval(".mermaid svg", (svgs) => svgs.flatMap((svg) =>
      [...svg.querySelectorAll("text")].map((t) => t.getBoundingClientRect().height)
        .filter((h) => h > 0 && h < 12).slice(0, 1).map((h) => Math.round(h))));
    for (const name of pages) {
      await page.goto(`${server.base}/${name}.html`);
      const sideways = await page.$$eval("pre > code.language-console, pre > code.language-text", (blocks) =>
        blocks.filter((b) => b.scrollWidth > b.clientWidth + 1).map((b) => b.innerText.split("\n")[0]));
      wide.push(...sideways.map((first) => `${name}: ${first}`));
      const count = await page.locator(".mermaid").count();
      for (let i = 0; i < count; i++) await page.locator(".mermaid").nth(i).locator("svg").waitFor();
      small.push(...(await smallLabels(page)).map((h) => `${name} at 1280 px: ${h} px`));
      const body = await page.locator("body").innerText();
      diagrams.push(`${name}: ${count} drawn${body.includes("Syntax error") ? ", one with a syntax error" : ""}`);
    }
    assert.deepEqual(wide, [], "console blocks wider than their column");
    assert.deepEqual(diagrams.filter((d) => d.includes("error")), [], diagrams.join("; "));
    assert.ok(diagrams.some((d) => d.startsWith("09-http-ws-cluster: 1 drawn")), diagrams.join("; "));

    // The copy button copies the commands alone. The first block of lesson 01 is
    // `$ cargo run -p http_server_first` (its first version) and its output.
    await page.goto(`${server.base}/01-http-server.html`);
    const block = page.locator("pre:has(code.language-console)").first();
    const text = await block.locator("code").innerText();
    assert.ok(text.includes("Listening on"), text);
    await block.hover();
    await block.locator(".clip-button").click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, "cargo run -p http_server_first");

    // Page 01's ramp: the first version in full is coloured Rust, and each step's
    // diff colours what it adds and what it takes away.
    assert.ok(await page.locator("pre > code.language-rust .hljs-keyword").count() > 0, "Rust in colour");
    assert.ok(await page.locator("pre > code.language-diff .hljs-addition").count() >= 5, "the steps' additions");
    assert.ok(await page.locator("pre > code.language-diff .hljs-deletion").count() > 0, "the steps' deletions");

    // A code page, at a line a walk-through may link to: coloured, numbered, and
    // with a way back to the lesson that cites it.
    await page.goto(`${server.base}/code/crates/ws_echo_server/src/handshake.rs.html#L18`);
    assert.ok(await page.locator("#L18").count(), "a line anchor");
    assert.ok(await page.locator(".source code .hljs-keyword").count() > 0, "highlighted");
    await page.locator("nav a", { hasText: "A WebSocket echo server" }).click();
    await page.waitForURL(/03-ws-echo-server\.html$/);
    assert.ok((await page.title()).includes("WebSocket echo server"));
    const viewport = await page.goto(`${server.base}/code/crates/ws_echo_server/src/handshake.rs.html`);
    assert.equal(viewport.status(), 200);
    assert.ok(await page.locator('meta[name="viewport"]').count(), "a phone lays it out at its width");

    // Number N stays beside line N to the end of a long file (both columns have one
    // line height), and one highlighting theme is on: the light one, on a light page.
    await page.goto(`${server.base}/code/crates/ws_chat_server/src/main.rs.html`);
    await page.locator(".source code.hljs").waitFor();
    const heights = await page.evaluate(() => {
      const numbers = document.querySelector(".numbers");
      const code = document.querySelector(".source code");
      const lines = numbers.querySelectorAll("a").length;
      const line = (el) => el.getBoundingClientRect().height / lines;
      return { numbers: line(numbers.firstChild.parentElement), code: code.getBoundingClientRect().height / lines, lines };
    });
    assert.ok(heights.lines > 100, `a long file: ${heights.lines} lines`);
    const drift = Math.abs(heights.numbers * heights.lines - heights.code * heights.lines);
    assert.ok(drift < heights.code, `the numbers drift ${drift.toFixed(1)} px from the lines: ${JSON.stringify(heights)}`);
    const themes = await page.evaluate(() =>
      [...document.querySelectorAll("link[class^='hl-']")].filter((l) => !l.disabled).map((l) => l.className));
    assert.deepEqual(themes, ["hl-light"], "one highlighting theme, the light page's");
    // And readable: axe-core finds no serious problem on a code page (with every
    // theme at once, comments were dark ayu colours on white).
    await page.addScriptTag({ content: readFileSync("node_modules/axe-core/axe.min.js", "utf8") });
    const onCode = await page.evaluate(() => globalThis.axe.run());
    const seriousOnCode = onCode.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(seriousOnCode.map((v) => `${v.id}: ${v.nodes.length}`), [], "axe-core on a code page");

    // On a phone (390 px), no table and no console or text block scrolls sideways:
    // not the index, not a Break-it table. (The measuring page's tables of figures,
    // seven and more columns of numbers, scroll: a number cannot wrap.)
    await page.setViewportSize({ width: 390, height: 800 });
    const narrow = [];
    for (const name of ["index", ...pages.filter((p) => p !== "measuring")]) {
      await page.goto(`${server.base}/${name === "index" ? "index" : name}.html`);
      const found = await page.$$eval(".table-wrapper, pre > code.language-console, pre > code.language-text",
        (els) => els.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.innerText.split("\n")[0].slice(0, 60)));
      narrow.push(...found.map((first) => `${name}: ${first}`));
    }
    assert.deepEqual(narrow, [], "wider than a 390 px phone");

    // On a phone, every sequence diagram keeps a readable size and scrolls
    // sideways, rather than shrinking its labels to a few pixels.
    for (const name of pages) {
      await page.goto(`${server.base}/${name}.html`);
      const count = await page.locator(".mermaid").count();
      for (let i = 0; i < count; i++) await page.locator(".mermaid").nth(i).locator("svg").waitFor();
      small.push(...(await smallLabels(page)).map((h) => `${name} at 390 px: ${h} px`));
    }
    assert.deepEqual(small, [], "diagram labels smaller than 12 px");
    await page.setViewportSize({ width: 1280, height: 900 });

    // axe-core, on a lesson page: nothing serious or critical.
    await page.goto(`${server.base}/03-ws-echo-server.html`);
    await page.addScriptTag({ content: readFileSync("node_modules/axe-core/axe.min.js", "utf8") });
    const result = await page.evaluate(() => globalThis.axe.run());
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.deepEqual(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.html.slice(0, 120)).join(" | ")})`), [], "axe-core");
    assert.deepEqual(missing, [], "files the pages asked for and did not get");
  } finally {
    await browser.close();
    server.close();
  }
});
