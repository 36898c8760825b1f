// Swagger UI at /docs in Debian's headless Chromium, driven by playwright-core (no browser
// download: the executable is /usr/bin/chromium).
//
// Checks that the page renders a section for every tag of /openapi.json with that tag's
// operations, that Authorize takes a real bearer token, and that "Try it out" on an
// authenticated GET (getMe) answers 200 with the token in the request. Saves screenshots to
// the output directory. Exits 1 with a message naming the failed check.
//
// Usage: node swagger.mjs <base_url> <access_token> <output_dir>
// Environment: CHROMIUM (default /usr/bin/chromium).

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, token, outputDir] = process.argv.slice(2);
if (!base || !token || !outputDir) {
  console.error("usage: node swagger.mjs <base_url> <access_token> <output_dir>");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
// The operation "Try it out" runs: an authenticated GET of the contract.
const OPERATION = { tag: "Users", id: "getMe", method: "get", path: "/api/v1/users/me" };
const TIMEOUT_MS = 15_000;

class CheckFailed extends Error {}
function check(ok, message) {
  if (!ok) throw new CheckFailed(message);
}
function log(message) {
  console.log(`[browser] ${message}`);
}

mkdirSync(outputDir, { recursive: true });
const shot = (name) => join(outputDir, name);
// An element's box in page coordinates (boundingBox() is relative to the viewport), for clips
// of full-page screenshots.
const pageBox = (locator) =>
  locator.evaluate((e) => {
    const r = e.getBoundingClientRect();
    return { x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height };
  });

// What the page must show, from the contract the server serves.
const specResponse = await fetch(`${base}/openapi.json`);
if (!specResponse.ok) {
  console.error(`[browser] FAILED: GET /openapi.json answered ${specResponse.status}`);
  process.exit(1);
}
const spec = await specResponse.json();
const tags = (spec.tags || []).map((t) => t.name);
// Swagger UI lists an operation under each of its tags.
const operationsPerTag = Object.fromEntries(tags.map((t) => [t, 0]));
for (const item of Object.values(spec.paths || {})) {
  for (const [method, op] of Object.entries(item)) {
    if (!["get", "put", "post", "delete", "options", "head", "patch", "trace"].includes(method)) continue;
    for (const t of op.tags || []) operationsPerTag[t] = (operationsPerTag[t] || 0) + 1;
  }
}
const target = spec.paths?.[OPERATION.path]?.[OPERATION.method];
if (!target || target.operationId !== OPERATION.id || !(target.security || []).length) {
  console.error(
    `[browser] FAILED: the contract has no authenticated ${OPERATION.method.toUpperCase()} ` +
      `${OPERATION.path} with operationId ${OPERATION.id}; update OPERATION in swagger.mjs`,
  );
  process.exit(1);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
let page;
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // The page must need nothing but this server (Swagger UI is vendored into the binary).
  const origin = new URL(base).origin;
  const foreign = [];
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (["http:", "https:"].includes(url.protocol) && url.origin !== origin) foreign.push(r.url());
  });

  // 1. Every tag renders, with its operations.
  const loaded = await page.goto(`${base}/docs`, { waitUntil: "load" });
  check(loaded && loaded.ok(), `GET /docs answered ${loaded && loaded.status()}`);
  // Swagger UI shows either the operations or "Failed to load API definition." with errors.
  await page
    .locator(".swagger-ui .opblock-tag-section, .swagger-ui .errors-wrapper")
    .first()
    .waitFor()
    .catch(() => {
      throw new CheckFailed("Swagger UI rendered neither operations nor an error");
    });
  const errors = page.locator(".swagger-ui .errors-wrapper");
  if ((await errors.count()) > 0) {
    const text = (await errors.first().innerText()).replace(/\s+/g, " ").trim();
    throw new CheckFailed(`Swagger UI could not load the API definition: ${text}`);
  }
  const title = (await page.locator(".swagger-ui .info .title").first().innerText()).trim();
  check(title.startsWith(spec.info.title), `Swagger UI shows the title ${JSON.stringify(title)}, not ${spec.info.title}`);
  check(tags.length > 0, "/openapi.json lists no tags");
  for (const tag of tags) {
    const heading = page.locator(`h3.opblock-tag[data-tag="${tag}"]`);
    check((await heading.count()) === 1, `tag ${tag}: no section in Swagger UI`);
    const name = (await heading.locator("a span, a").first().innerText()).trim();
    check(name === tag, `tag ${tag}: the section is headed ${JSON.stringify(name)}`);
    const section = page.locator(".opblock-tag-section", { has: heading });
    const shown = await section.locator(".opblock").count();
    check(
      shown === operationsPerTag[tag],
      `tag ${tag}: Swagger UI shows ${shown} operations, the contract has ${operationsPerTag[tag]}`,
    );
  }
  log(`${tags.length} tags render: ${tags.map((t) => `${t} (${operationsPerTag[t]})`).join(", ")}`);
  // The whole page down to the last tag section (the schema list below it is long and says
  // nothing about the tags).
  const last = await pageBox(page.locator(".opblock-tag-section").last());
  await page.screenshot({
    path: shot("swagger-tags.png"),
    fullPage: true,
    clip: { x: 0, y: 0, width: 1280, height: Math.ceil(last.y + last.height + 16) },
  });

  // 2. Authorize with the real token.
  await page.locator(".auth-wrapper button.authorize").click();
  const modal = page.locator(".dialog-ux .modal-ux");
  await modal.waitFor();
  const scheme = modal.locator(".auth-container", { hasText: "BearerAuth" });
  check((await scheme.count()) === 1, "the Authorize dialog has no BearerAuth scheme");
  await scheme.locator("input").first().fill(token);
  await scheme.locator("button.authorize").click();
  await scheme.locator("button", { hasText: "Logout" }).waitFor().catch(() => {
    throw new CheckFailed("the Authorize dialog did not accept the token (no Logout button)");
  });
  await modal.locator("button.btn-done, button.close-modal").first().click();
  await modal.waitFor({ state: "detached" });
  log("authorized with the bearer token");

  // 3. Try it out on the authenticated GET.
  const op = page.locator(`#operations-${OPERATION.tag}-${OPERATION.id}`);
  check((await op.count()) === 1, `operation ${OPERATION.id} is not on the page`);
  // The padlock of an operation the token covers reads "authorization button locked".
  const lock = op.locator(".authorization__btn").first();
  const lockLabel = (await lock.getAttribute("aria-label")) || (await lock.evaluate((e) => e.outerHTML));
  check(/\blocked\b/.test(lockLabel) && !/unlocked/.test(lockLabel),
    `operation ${OPERATION.id} does not show as authorized: ${lockLabel}`);
  log(`${OPERATION.id}'s padlock: ${JSON.stringify(lockLabel)}`);
  await op.locator(".opblock-summary").first().click();
  const tryOut = op.locator("button.try-out__btn");
  await tryOut.waitFor();
  // tryItOutEnabled opens operations in "Try it out" mode already; the button then says Cancel.
  if ((await tryOut.innerText()).trim() === "Try it out") await tryOut.click();
  const [apiResponse] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === OPERATION.path),
    op.locator("button.execute").click(),
  ]);
  const sentAuth = await apiResponse.request().headerValue("authorization");
  const status = op.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor();
  const shownStatus = (await status.innerText()).trim();
  const curl = (await op.locator(".curl-command").first().innerText()).trim();
  await op.scrollIntoViewIfNeeded();
  await page.screenshot({ path: shot("swagger-try-it-out.png"), fullPage: true });
  // The operation from its summary to the live response, for a quick look.
  const opBox = await pageBox(op);
  const liveBox = await pageBox(op.locator(".live-responses-table").first());
  await page.screenshot({
    path: shot("swagger-get-me.png"),
    fullPage: true,
    clip: { x: opBox.x, y: opBox.y, width: opBox.width, height: Math.ceil(liveBox.y + liveBox.height - opBox.y + 16) },
  });
  check(
    sentAuth === `Bearer ${token}`,
    `Try it out sent ${sentAuth ? "a different Authorization header" : "no Authorization header"}`,
  );
  check(curl.includes("Authorization: Bearer "), "the curl command shows no Authorization: Bearer header");
  check(
    shownStatus === "200",
    `Try it out on ${OPERATION.id} shows status ${JSON.stringify(shownStatus)}, not 200 ` +
      `(the server answered ${apiResponse.status()})`,
  );
  log(`Try it out on ${OPERATION.method.toUpperCase()} ${OPERATION.path}: 200 with the bearer token`);

  check(pageErrors.length === 0, `the page threw: ${pageErrors.join("; ")}`);
  check(foreign.length === 0, `the page fetched from other hosts: ${foreign.join(", ")}`);
  log(`screenshots: ${shot("swagger-tags.png")}, ${shot("swagger-try-it-out.png")}, ${shot("swagger-get-me.png")}`);
} catch (e) {
  failed = true;
  console.error(`[browser] FAILED: ${e instanceof CheckFailed ? e.message : e.stack || e}`);
  if (page) {
    await page
      .screenshot({ path: shot("swagger-failure.png"), fullPage: true })
      .then(() => console.error(`[browser] the page as it was: ${shot("swagger-failure.png")}`))
      .catch(() => {});
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
