/** The update layer: files only, the same whatever layer it sits on, health checks laid out. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AGENT_PATH,
  DATA_DIRS,
  HEALTH_DIR,
  UPDATE_KEYRING,
  updateConf,
  updateLayer,
  updateLayerSteps,
} from "../../../src/outputs/disk/update-layer.js";
import type { ResolvedLayer } from "../../../src/recipe/graph.js";
import { Recipe } from "../../../src/recipe/schema.js";

const recipe = Recipe.parse({
  name: "kiosk",
  layers: [{ name: "base", bootstrap: {} }],
  update: { url: "http://updates.example:8080/kiosk/", keyring: "keys/update.pub" },
  health: [
    { name: "app answers", run: "curl -fs localhost:80", output: ["ok", "^ready$"], timeout: 5 },
    { name: "no marker", run: "test ! -e /broken", status: 0 },
  ],
});

describe("update layer", () => {
  it("installs no package: the agent, its configuration, the keyring, health checks, units", () => {
    const steps = updateLayerSteps(recipe);
    assert.ok(steps.every((s) => !s.packages && !s.run && !s.remove));
    const writes = new Map(
      steps.flatMap((s) => (s.write ? [[s.write.path, s.write] as const] : [])),
    );
    assert.equal(writes.get(AGENT_PATH)?.mode, "0755");
    assert.match(writes.get(AGENT_PATH)?.content ?? "", /^#!\/bin\/sh/);
    assert.deepEqual(
      steps.filter((s) => s.copy).map((s) => s.copy),
      [{ from: "keys/update.pub", to: UPDATE_KEYRING, mode: "0644" }],
    );
    assert.equal(writes.get(`${HEALTH_DIR}/01/name`)?.content, "app answers\n");
    assert.equal(writes.get(`${HEALTH_DIR}/01/output`)?.content, "ok\n^ready$\n");
    assert.equal(writes.get(`${HEALTH_DIR}/01/timeout`)?.content, "5\n");
    assert.equal(writes.get(`${HEALTH_DIR}/02/status`)?.content, "0\n");
    assert.equal(writes.has(`${HEALTH_DIR}/02/output`), false);
    assert.ok(writes.has("/usr/lib/systemd/system/strata-health.service"));
    assert.deepEqual(steps.at(-1), { services: { enable: ["strata-health.service"] } });
  });

  it("configures the agent without a trailing slash; the timer only when asked", () => {
    const conf = updateConf(recipe.update as NonNullable<typeof recipe.update>, recipe);
    assert.match(conf, /^url=http:\/\/updates\.example:8080\/kiosk$/m);
    assert.match(conf, /^channel=stable$/m);
    assert.match(conf, /^recipe=kiosk$/m);
    assert.match(conf, /^arch=amd64$/m);
    const timed = Recipe.parse({ ...recipe, update: { ...recipe.update, timer: true } });
    assert.deepEqual(updateLayerSteps(timed).at(-1), {
      services: { enable: ["strata-health.service", "strata-update.timer"] },
    });
  });

  it("lists the shared data directories for the boot script only when there are some", () => {
    const dataDirs = (r: typeof recipe) =>
      updateLayerSteps(r).flatMap((s) => (s.write?.path === DATA_DIRS ? [s.write.content] : []));
    assert.deepEqual(dataDirs(recipe), []);
    const shared = Recipe.parse({
      ...recipe,
      update: { ...recipe.update, data: ["/var/lib/app", "/srv/media"] },
    });
    assert.deepEqual(dataDirs(shared), ["/var/lib/app\n/srv/media\n"]);
    for (const bad of ["var/lib", "/var/../etc", "/var/./lib", "/run/app", "/proc", "/a b", "/"]) {
      const r = Recipe.safeParse({ ...recipe, update: { ...recipe.update, data: [bad] } });
      assert.equal(r.success, false, bad);
    }
  });

  it("sits on the output's top layer, with the same steps on any of them", () => {
    const on = (name: string) =>
      ({ name, chain: ["base", name], steps: [], spec: { name } }) as unknown as ResolvedLayer;
    const a = updateLayer(on("app"), recipe);
    const b = updateLayer(on("other"), recipe);
    assert.equal(a.name, "app.update");
    assert.equal(a.parent, "app");
    assert.deepEqual(a.chain, ["base", "app", "app.update"]);
    assert.deepEqual(a.spec.steps, b.spec.steps);
  });
});
