// Render every Plotly figure whose JSON sits in a <script type="application/json" data-for=id>.
document.querySelectorAll('script[type="application/json"][data-for]').forEach(function (node) {
  var fig = JSON.parse(node.textContent);
  window.Plotly.newPlot(node.dataset.for, fig.data, fig.layout, { displayModeBar: false, responsive: true });
});
