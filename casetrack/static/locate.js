// "Use my location": the browser's geolocation (WGS-84) fills the form's hidden location
// fields and shows how accurate it is. A static file: the CSP allows no inline script.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-locate]").forEach(function (box) {
    var button = box.querySelector("[data-locate-button]");
    var status = box.querySelector("[data-locate-status]");
    function put(name, value) {
      var input = box.querySelector("input[name='" + name + "']");
      if (input) { input.value = value; }
    }
    if (!("geolocation" in navigator)) {
      button.hidden = true;
      status.textContent = status.dataset.unsupported;
      return;
    }
    button.addEventListener("click", function () {
      status.textContent = status.dataset.waiting;
      navigator.geolocation.getCurrentPosition(function (position) {
        var c = position.coords;
        put("location_lat", c.latitude.toFixed(7));
        put("location_long", c.longitude.toFixed(7));
        put("location_accuracy", Math.round(c.accuracy));
        status.textContent = c.latitude.toFixed(5) + ", " + c.longitude.toFixed(5) + " · " +
          status.dataset.found.replace("{m}", Math.round(c.accuracy));
        status.dataset.located = "true";
      }, function () {
        status.textContent = status.dataset.failed;
      }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 60000});
    });
  });
});
