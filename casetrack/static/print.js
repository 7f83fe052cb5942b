/* A print button: <button data-print> prints the page (the CSP allows no inline script). */
document.querySelectorAll("[data-print]").forEach(function (b) {
  b.addEventListener("click", function () { window.print(); });
});
