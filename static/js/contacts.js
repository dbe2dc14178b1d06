// Select-all checkbox of the contact list: progressive enhancement, the page works without it.
document.querySelectorAll("input[data-select-all]").forEach(function (all) {
  var form = all.form;
  if (!form) { return; }
  var boxes = form.querySelectorAll('input[type="checkbox"][name="' + all.dataset.selectAll + '"]');
  all.hidden = false;
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      var checked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      all.checked = checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    });
  });
});
