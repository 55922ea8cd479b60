// Sort a table by the clicked column (numbers by value, text alphabetically). No libraries.
document.querySelectorAll("table.sortable th").forEach(function (th, _) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.dataset.sort !== "asc";
    var key = function (row) {
      var text = row.children[index].textContent.trim(), num = parseFloat(text.replace(/[,%+]/g, ""));
      return isNaN(num) ? text.toLowerCase() : num;
    };
    Array.prototype.slice.call(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * (asc ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
    th.parentNode.querySelectorAll("th").forEach(function (h) { delete h.dataset.sort; });
    th.dataset.sort = asc ? "asc" : "desc";
  });
});
