// The copy button of a console block copies its commands, one per line, without
// their `$ ` prompt and without the output the page shows under them: pasted into
// a terminal, they run. (lessons/book.toml names this file; mdBook adds the button.)
"use strict";

/// The commands of a console block's text: its `$ ` lines, without the `$ `.
function consoleCommands(text) {
  return text
    .split("\n")
    .filter((line) => line.trimStart().startsWith("$ "))
    .map((line) => line.trimStart().slice(2))
    .join("\n");
}

document.addEventListener(
  "click",
  (event) => {
    const button = event.target.closest && event.target.closest(".clip-button");
    const code = button && button.closest("pre")?.querySelector("code.language-console");
    if (!code) return;
    const commands = consoleCommands(code.innerText);
    if (!commands) return;
    // Ours instead of mdBook's: stop its handler, copy, and say so as it would.
    event.stopImmediatePropagation();
    event.preventDefault();
    navigator.clipboard.writeText(commands).then(() => {
      button.classList.add("tooltipped");
      button.setAttribute("aria-label", "Copied the commands");
      setTimeout(() => button.classList.remove("tooltipped"), 1500);
    });
  },
  true,
);

// mdBook's sidebar button is a <label> with aria-expanded and aria-label, which a
// plain label may not carry (axe-core: aria-allowed-attr): it acts as a button, so
// it says so, and screen readers then announce it as one.
document.getElementById("mdbook-sidebar-toggle")?.setAttribute("role", "button");
