/* Graphs of the ad and cluster pages: Cytoscape.js over the JSON API (same-origin, cookie). */
(function () {
  "use strict";
  const box = document.getElementById("graph");
  if (!box || typeof cytoscape === "undefined") return;
  const palette = ["#2f5fd0", "#d0642f", "#2f9d5f", "#8e44ad", "#c0392b", "#16a085", "#b7950b", "#5d6d7e"];
  const colourOf = (cluster) => (cluster === "" || cluster === undefined) ? "#9aa3b5" : palette[Math.abs(parseInt(cluster, 10)) % palette.length];

  function elements(graph) {
    const out = [];
    for (const n of graph.nodes) {
      out.push({ group: "nodes", data: Object.assign({}, n, { colour: colourOf(n.cluster) }) });
    }
    for (const e of graph.edges) {
      const id = [e.source, e.target].sort().join("|") + "|" + e.kind;
      out.push({ group: "edges", data: Object.assign({ id: id }, e) });
    }
    return out;
  }

  const cy = cytoscape({
    container: box,
    style: [
      { selector: "node", style: { "background-color": "data(colour)", "label": "data(label)", "font-size": 9, "color": "#394152", "width": 16, "height": 16, "text-valign": "bottom", "text-margin-y": 3, "min-zoomed-font-size": 7, "text-background-color": "#fcfcfe", "text-background-opacity": 0.8, "text-background-padding": 1 } },
      { selector: "node[?query]", style: { "width": 26, "height": 26, "border-width": 3, "border-color": "#141a2a", "font-weight": "bold" } },
      { selector: "node.expanded", style: { "border-width": 2, "border-color": "#8fb0ff" } },
      { selector: "edge", style: { "width": "mapData(score, 0, 1, 0.5, 4)", "line-color": "#b7c2dc", "curve-style": "bezier" } },
      { selector: "edge[kind = 'between']", style: { "line-style": "dashed", "line-color": "#d5dbe8", "width": 1 } },
      { selector: "edge[kind = 'identifier']", style: { "line-style": "dashed", "line-color": "#d0642f", "width": 1.5 } },
      { selector: ":selected", style: { "background-color": "#141a2a" } }
    ],
    minZoom: 0.15,
    maxZoom: 1.6,
    wheelSensitivity: 0.3
  });

  function layout() {
    const query = box.dataset.query ? cy.getElementById(box.dataset.query) : null;
    if (query && query.nonempty()) {  // the query ad in the middle, its linked ads around it
      const near = query.neighborhood("node");
      cy.layout({ name: "concentric", animate: false, padding: 24, minNodeSpacing: 18,
        concentric: (n) => n.same(query) ? 3 : (near.contains(n) ? 2 : 1), levelWidth: () => 1 }).run();
    } else {
      const small = cy.nodes().length <= 40;  // a circle reads best for small, dense clusters
      cy.layout(small ? { name: "circle", animate: false, padding: 24, avoidOverlap: true }
        : { name: "cose", animate: false, padding: 24, nodeRepulsion: 400000, idealEdgeLength: 90, numIter: 1500 }).run();
    }
  }

  function load(url, expandedId) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then((r) => r.ok ? r.json() : r.json().then((b) => Promise.reject(new Error(b.detail || r.statusText))))
      .then((graph) => {
        const fresh = elements(graph).filter((el) => cy.getElementById(el.data.id).empty());
        cy.add(fresh);
        if (expandedId) cy.getElementById(expandedId).addClass("expanded");
        layout();
        box.dataset.nodes = String(cy.nodes().length);
        box.dataset.ready = "1";
      })
      .catch((err) => { box.dataset.ready = "error"; box.insertAdjacentHTML("afterend", "<p class='error'>Graph: " + String(err.message).replace(/</g, "&lt;") + "</p>"); });
  }

  cy.on("tap", "node", (evt) => {
    const node = evt.target;
    if (node.data("kind") !== "ad" || node.hasClass("expanded") || !box.dataset.query) return;
    load("/api/ads/" + encodeURIComponent(node.id()) + "/graph", node.id());
  });
  cy.on("dbltap", "node", (evt) => { if (evt.target.data("kind") === "ad") window.location.href = "/ads/" + encodeURIComponent(evt.target.id()); });
  window.vendorlinkGraph = cy;
  load(box.dataset.src, box.dataset.query || null);
})();
