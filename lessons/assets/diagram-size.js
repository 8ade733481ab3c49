// A sequence diagram keeps its own size (Mermaid's max-width: the width its labels
// need at their size), on a phone and beside a wide one on a desktop: it scrolls
// sideways instead of shrinking its labels to a few pixels. Its box can take the
// keyboard's focus, so that it scrolls from the keyboard too.
(() => {
  const fit = () => {
    for (const svg of document.querySelectorAll(".mermaid svg")) {
      if (!svg.style.maxWidth || svg.style.minWidth) continue;
      svg.style.minWidth = svg.style.maxWidth;
      const box = svg.closest(".mermaid");
      if (box && !box.hasAttribute("tabindex")) {
        box.tabIndex = 0;
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "sequence diagram");
      }
    }
  };
  new MutationObserver(fit).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", fit);
})();
