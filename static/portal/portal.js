// Page behaviour that would otherwise be inline handlers, which the Content-Security-Policy forbids
// (script-src 'self': no onclick="", no <script> blocks, no eval). Loaded with defer from base.html.
(() => {
  "use strict";

  // The navigation toggle on narrow screens: <button data-nav-toggle>.
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-nav-toggle]")) {
      document.body.classList.toggle("nav-open");
    }
  });

  // The header's language picker submits as soon as a language is chosen; its button is for no-JS.
  document.querySelectorAll("[data-autosubmit-fallback]").forEach((button) => { button.hidden = true; });
  document.addEventListener("change", (event) => {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
  });

  // Close a side panel (the log detail flyout): <button data-close-panel="log-detail">. The element is
  // emptied, not removed, so the next row click swaps into it again.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-close-panel]");
    if (!button) return;
    const panel = document.getElementById(button.dataset.closePanel);
    if (panel) {
      panel.replaceChildren();
      panel.className = "";
      panel.removeAttribute("data-testid");
    }
  });
  document.addEventListener("keydown", (event) => {
    const panel = document.querySelector(".side-panel");
    if (event.key === "Escape" && panel) panel.querySelector("[data-close-panel]")?.click();
  });

  // Ask before a consequential submit: <form data-confirm="Restart provisioning?">. (htmx requests can
  // use hx-confirm, which needs no eval either.)
  document.addEventListener("submit", (event) => {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Show or hide part of a form from a field's current value, declaratively:
  //   <div data-show-when="mode=Automatic">…</div>   <p data-hide-when="auth_method=oauth2_client_credentials|none">
  function fieldValue(form, name) {
    const field = form.elements.namedItem(name);
    if (!field) return undefined;
    if (typeof RadioNodeList !== "undefined" && field instanceof RadioNodeList) return field.value;
    if (field.type === "checkbox") return field.checked ? field.value : "";
    return field.value;
  }

  function applyConditions(root) {
    const scope = root.querySelectorAll ? root : document;
    const elements = [...scope.querySelectorAll("[data-show-when],[data-hide-when]")];
    if (root.matches && root.matches("[data-show-when],[data-hide-when]")) elements.push(root);
    for (const element of elements) {
      const form = element.closest("form");
      const show = element.dataset.showWhen !== undefined;
      const rule = show ? element.dataset.showWhen : element.dataset.hideWhen;
      const [name, values = ""] = rule.split("=");
      if (!form) continue;
      const matches = values.split("|").includes(fieldValue(form, name.trim()));
      element.hidden = show ? !matches : matches;
    }
  }

  document.addEventListener("change", (event) => {
    const form = event.target.form || (event.target.closest && event.target.closest("form"));
    if (form) applyConditions(form);
  });
  document.addEventListener("htmx:load", (event) => applyConditions(event.target));
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => applyConditions(document));
  } else {
    applyConditions(document);
  }
})();
