// Progressive enhancement only: every control works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // Show how many characters are left in a text area that has a maxlength.
  document.querySelectorAll("textarea[maxlength][data-counter]").forEach(function (area) {
    var counter = document.getElementById(area.getAttribute("data-counter"));
    if (!counter) { return; }
    var template = counter.getAttribute("data-template") || "{n}";
    var update = function () {
      var left = Number(area.getAttribute("maxlength")) - area.value.length;
      // Written as the page's language writes numbers (1,234 · 1 234 · 1.234).
      counter.textContent = template.replace("{n}", left.toLocaleString(document.documentElement.lang || undefined));
    };
    area.addEventListener("input", update);
    update();
  });

  // Pay buttons: show that the payment is being started and ignore a second press. Not `disabled`:
  // a disabled submitter would drop its name=value (the provider) from the form.
  document.querySelectorAll("form[data-pay-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-submitting") === "1") {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-submitting", "1");
      form.setAttribute("aria-busy", "true");
      var pressed = event.submitter || form.querySelector("button[type=submit]");
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.setAttribute("aria-disabled", "true");
        button.classList.add("is-busy");
      });
      if (pressed && pressed.getAttribute("data-busy-label")) {
        pressed.setAttribute("data-label", pressed.textContent);
        pressed.textContent = pressed.getAttribute("data-busy-label");
      }
    });
  });
  // Coming back from the checkout with the back button shows the page as it was: press again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-pay-form][data-submitting]").forEach(function (form) {
      form.removeAttribute("data-submitting");
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.removeAttribute("aria-disabled");
        button.classList.remove("is-busy");
        if (button.hasAttribute("data-label")) { button.textContent = button.getAttribute("data-label"); }
      });
    });
  });
});
