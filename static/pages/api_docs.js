(function () {
  var schemaUrl = document.getElementById("main").dataset.schemaUrl;
  function el(tag, text, cls) { var e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; }
  function resolve(schema, obj) {
    if (obj && obj.$ref) { var parts = obj.$ref.split("/").slice(1), o = schema; parts.forEach(function (p) { o = o[p]; }); return o; }
    return obj;
  }
  function example(schema, s, depth) {
    s = resolve(schema, s) || {};
    if (depth > 4) return null;
    if (s.allOf) return example(schema, s.allOf[0], depth);
    if (s.enum) return s.enum[0];
    if (s.type === "object" || s.properties) {
      var out = {}; Object.keys(s.properties || {}).forEach(function (k) { out[k] = example(schema, s.properties[k], depth + 1); }); return out;
    }
    if (s.type === "array") return [example(schema, s.items, depth + 1)];
    if (s.type === "integer") return 0;
    if (s.type === "boolean") return true;
    return s.example || "string";
  }
  fetch(schemaUrl).then(function (r) { return r.json(); }).then(function (schema) {
    var main = document.getElementById("main"), nav = document.getElementById("nav");
    document.getElementById("loading").remove();
    main.appendChild(el("p", schema.info.description || ""));
    Object.keys(schema.paths).forEach(function (path) {
      var item = schema.paths[path];
      Object.keys(item).forEach(function (method) {
        var op = item[method], id = op.operationId || (method + path);
        var a = el("a", method.toUpperCase() + " " + path); a.href = "#" + id; nav.appendChild(a);
        var box = el("section", null, "op"); box.id = id;
        var h = el("h3"); h.appendChild(el("span", method, "method " + method)); h.appendChild(el("code", path)); box.appendChild(h);
        if (op.description) box.appendChild(el("p", op.description));
        var params = (op.parameters || []).map(function (p) { return resolve(schema, p); });
        if (params.length) {
          var t = el("table"); t.appendChild(el("tr")).innerHTML = "<th>parameter</th><th>in</th><th>type</th><th>description</th>";
          params.forEach(function (p) {
            var tr = el("tr"); [p.name, p.in, (p.schema && (p.schema.enum ? p.schema.enum.join(" | ") : p.schema.type)) || "", p.description || ""].forEach(function (c) { tr.appendChild(el("td", String(c))); });
            t.appendChild(tr);
          });
          box.appendChild(t);
        }
        var body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
        if (body) { box.appendChild(el("p", "Request body")); box.appendChild(el("pre", JSON.stringify(example(schema, body.schema, 0), null, 2))); }
        Object.keys(op.responses || {}).filter(function (c) { return c < "300"; }).forEach(function (code) {
          var content = op.responses[code].content && op.responses[code].content["application/json"];
          box.appendChild(el("p", "Response " + code));
          if (content) box.appendChild(el("pre", JSON.stringify(example(schema, content.schema, 0), null, 2)));
        });
        main.appendChild(box);
      });
    });
  });
})();
