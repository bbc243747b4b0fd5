/* family_page.js: a family model's controls on the live page, after page.js; only a family page has it.
 *
 * "Another flake" (button, key n) goes back to one seed of the next training flake (cycling); a double-click
 * plants a seed of the current flake (FamilyNCA.plant). The hook gains flake, setFlake(k) and info.flakes.
 * A continuous family's page (config.draws) names each code by its parameter draw.
 */
"use strict";
(function () {
  const hook = window.ncarender, nca = hook.nca, flakes = nca.codes.length;
  const another = document.getElementById("another"), canvas = document.getElementById("grid");
  const label = canvas.getAttribute("aria-label");
  const draws = nca.draws; // a continuous family's page: name the draw, not its place in the list

  function show() {
    const which = draws
      ? `parameter draw ${draws[nca.flake]} (${nca.flake + 1} of the ${flakes} on this page)`
      : `flake ${nca.flake} of ${flakes} (0-${flakes - 1})`;
    another.title = `Grow another flake (n); now ${which}`;
    canvas.setAttribute("aria-label", `${label} (${which})`);
  }
  /** Back to one seed of flake k (0..K-1): step 0, the PRNG from the seed, no queued masks. */
  function setFlake(k) {
    nca.setFlake(k);
    hook.reset();
    show();
    return nca.flake;
  }
  const next = () => setFlake((nca.flake + 1) % flakes);

  another.addEventListener("click", next);
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || flakes < 2) return;
    const t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "BUTTON" || t === "TEXTAREA") return;
    if (e.key === "n" || e.key === "N") next();
  });

  hook.info.flakes = flakes;
  hook.setFlake = setFlake;
  Object.defineProperty(hook, "flake", { get: () => nca.flake, enumerable: true });
  show();
})();
