// The playground page's Run, which streams the answer (server-sent events over a POST) into #output
// as text, never as HTML. Message rows and the chat/text switch are editor.js.
(function () {
  'use strict';
  var form = document.getElementById('playground');
  if (!form) return;
  var output = document.getElementById('output');
  var alertBox = document.getElementById('run-error');
  var stats = document.getElementById('stats');
  var runButton = document.getElementById('run');

  function showError(message) {
    alertBox.textContent = message;
    alertBox.hidden = false;
  }

  function showDone(result) {
    var usage = result.usage || {};
    document.getElementById('stat-input').textContent = usage.input != null ? usage.input : '–';
    document.getElementById('stat-output').textContent = usage.output != null ? usage.output : '–';
    document.getElementById('stat-cost').textContent = result.cost != null ? '$' + result.cost : '–';
    document.getElementById('stat-latency').textContent = result.latencyMs + ' ms';
    document.getElementById('stat-ttft').textContent =
      result.timeToFirstTokenMs != null ? result.timeToFirstTokenMs + ' ms' : '–';
    document.getElementById('stat-trace').href = '/traces/' + encodeURIComponent(result.traceId);
    stats.hidden = false;
    if (result.error) showError(result.error);
  }

  function handle(block) {
    var name = 'message';
    var data = '';
    block.split('\n').forEach(function (line) {
      if (line.indexOf('event: ') === 0) name = line.slice(7);
      else if (line.indexOf('data: ') === 0) data += line.slice(6);
    });
    if (!data) return;
    var value = JSON.parse(data);
    if (name === 'delta') output.textContent += value.text;
    else if (name === 'done') showDone(value);
  }

  async function run() {
    output.textContent = '';
    alertBox.hidden = true;
    stats.hidden = true;
    runButton.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      var response = await fetch('/playground/run', {
        method: 'POST',
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: 'text/event-stream' },
      });
      if (!response.ok) {
        var body = await response.json().catch(function () { return { message: response.statusText }; });
        showError(body.message);
        return;
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = '';
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        var blocks = buffer.split('\n\n');
        buffer = blocks.pop();
        blocks.forEach(handle);
      }
    } catch (err) {
      showError('The run failed: ' + err.message);
    } finally {
      runButton.disabled = false;
      form.removeAttribute('aria-busy');
    }
  }

  form.addEventListener('submit', function (e) {
    if (e.submitter && e.submitter.id === 'run') { e.preventDefault(); run(); }
  });
})();
