// Photos are made smaller on the phone before upload: a 12-megapixel camera photo becomes a
// JPEG of at most 2048 px (as the server keeps it, and as FixMyStreet sends it), a tenth of the
// bytes over a weak signal. The server re-encodes anyway.
(function () {
  "use strict";
  var MAX_SIDE = 2048, LARGE = 1.5 * 1024 * 1024;

  function shrink(file) {
    if (!/^image\/(jpeg|png|webp)$/.test(file.type) || file.size <= LARGE || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob && blob.size < file.size
            ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }

  function onChange(event) {
    var input = event.target;
    if (!input.matches("input[type=file][data-resize]") || input.dataset.resized === "1" || !window.DataTransfer) {
      return;
    }
    var form = input.form, buttons = form ? form.querySelectorAll("button[type=submit]") : [];
    buttons.forEach(function (b) { b.disabled = true; });
    Promise.all(Array.prototype.map.call(input.files, shrink)).then(function (files) {
      var list = new DataTransfer();
      files.forEach(function (f) { list.items.add(f); });
      input.dataset.resized = "1";
      input.files = list.files;
    }).finally(function () {
      delete input.dataset.resized;
      buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  document.addEventListener("change", onChange);
})();
