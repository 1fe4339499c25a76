// Progressive enhancement only: every control works without this file.
document.addEventListener("DOMContentLoaded", function () {
  // Show how many characters are left in a text area that has a maxlength.
  document.querySelectorAll("textarea[maxlength][data-counter]").forEach(function (area) {
    var counter = document.getElementById(area.getAttribute("data-counter"));
    if (!counter) { return; }
    var template = counter.getAttribute("data-template") || "{n}";
    var update = function () {
      var left = Number(area.getAttribute("maxlength")) - area.value.length;
      counter.textContent = template.replace("{n}", String(left));
    };
    area.addEventListener("input", update);
    update();
  });
});
