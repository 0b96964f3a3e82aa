// The browsable API draws its HTML form for PUT only; on a view that takes PATCH alone (a user, the status-callback
// settings) the renderer fills that form from PATCH, and this makes it send PATCH (DRF's ajax-form.js reads
// data-method when the form is submitted).
document.querySelectorAll('#put-object-form form[data-method="PUT"]').forEach((form) => {
  form.setAttribute("data-method", "PATCH");
  form.querySelectorAll(".form-actions button").forEach((button) => {
    button.textContent = "PATCH";
    button.setAttribute("title", button.getAttribute("title").replace("PUT", "PATCH"));
  });
});
