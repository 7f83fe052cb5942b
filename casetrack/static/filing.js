// Picking a category sets the kind the group last filed it as (data-kind on the option, from
// services/filing.py), unless the kind was chosen by hand. A static file: the CSP allows no inline script.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-sets-kind]").forEach(function (category) {
    var kind = category.form.querySelector("select[name='" + category.dataset.setsKind + "']");
    var chosen = false;
    kind.addEventListener("change", function () { chosen = true; });
    category.addEventListener("change", function () {
      var option = category.selectedOptions[0];
      if (!chosen && option && option.dataset.kind) { kind.value = option.dataset.kind; }
    });
  });
});
