/* kwxmap map page: draws bands, isotherms, their labels, stations, the title,
 * the stepped legend and (for several frames) a time slider from one JSON
 * payload built by kwxmap/render.py. Needs only Leaflet.
 *
 * Geometry arrives as integer lon/lat in 1/q degree, delta-encoded per ring
 * ([x0, y0, dx1, dy1, ...]). Every string inserted as HTML (tooltips, title,
 * legend, overlay names) was escaped in Python; frame labels go in as text.
 */
var kwxmap = (function () {
  "use strict";

  function ring(flat, q) {
    var out = [], x = 0, y = 0;
    for (var i = 0; i < flat.length; i += 2) {
      x += flat[i]; y += flat[i + 1];
      out.push([y / q, x / q]);
    }
    return out;
  }

  function control(map, position, className, html) {
    var c = L.control({position: position});
    c.onAdd = function () {
      var div = L.DomUtil.create("div", className + " leaflet-control");
      if (html !== null) { div.innerHTML = html; }
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    c.addTo(map);
    return c;
  }

  function labelIcon(text, angle, cls, offset) {
    var span = document.createElement("span");
    span.textContent = text;
    if (offset) { span.style.left = offset + "px"; }
    if (cls === "kwxmap-isolabel") {
      span.style.transform = "translate(-50%, -50%) rotate(" + (angle || 0) + "deg)";
    }
    return L.divIcon({className: cls, html: span, iconSize: null});
  }

  function drawFrame(p, frame) {
    var q = p.q, layers = {bands: L.layerGroup(), lines: L.layerGroup(), stations: L.layerGroup()};
    var labels = [];
    (frame.bands || []).forEach(function (b) {
      var polys = b.g.map(function (poly) { return poly.map(function (r) { return ring(r, q); }); });
      var layer = L.polygon(polys, {
        fillColor: b.c, fillOpacity: p.opacity, color: b.c, weight: 0.6, opacity: 1,
        className: "kwxmap-band", smoothFactor: 0.5
      });
      layer.bindTooltip(b.t, {sticky: true});
      layer.on("mouseover", function () { layer.setStyle({weight: 2, color: "#333"}); });
      layer.on("mouseout", function () { layer.setStyle({weight: 0.6, color: b.c}); });
      layers.bands.addLayer(layer);
    });
    (frame.lines || []).forEach(function (l) {
      var parts = l.g.map(function (r) { return ring(r, q); });
      L.polyline(parts, {color: "#303030", weight: 1.2, opacity: 0.9,
                         className: "kwxmap-isoline", smoothFactor: 0.5})
        .bindTooltip(l.t, {sticky: true}).addTo(layers.lines);
    });
    (frame.labels || []).forEach(function (t) {
      var m = L.marker([t[0], t[1]], {icon: labelIcon(t[3], t[2], "kwxmap-isolabel"),
                                       interactive: false, keyboard: false, pane: "kwxmapLabels"});
      layers.lines.addLayer(m);
      labels.push(m);
    });
    var r = p.stations.radius;
    (frame.stations || []).forEach(function (v, i) {
      if (v === null) { return; }
      var pos = p.stations.pos[i];
      L.circleMarker(pos, {radius: r + 1.5, color: "#ffffff", weight: 2.5, opacity: 0.95,
                           fill: false, interactive: false, className: "kwxmap-halo"})
        .addTo(layers.stations);
      L.circleMarker(pos, {radius: r, color: "#1a1a1a", weight: 1.2, fillColor: v[0],
                           fillOpacity: 1, className: "kwxmap-station"})
        .bindTooltip(p.stations.head[i] + "<br>" + v[1])
        .addTo(layers.stations);
      if (p.values && v[2]) {
        var m = L.marker(pos, {icon: labelIcon(v[2], 0, "kwxmap-valuelabel", r + 5),
                               interactive: false, keyboard: false, pane: "kwxmapLabels",
                               kwxValue: true});
        layers.stations.addLayer(m);
        labels.push(m);
      }
    });
    // station values outrank isotherm values when they collide
    layers.labels = labels.filter(function (m) { return m.options.kwxValue; })
      .concat(labels.filter(function (m) { return !m.options.kwxValue; }));
    return layers;
  }

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  /* Hide labels whose boxes touch a station marker or a label kept before them
   * (station values first, then isotherm values, longest lines first). */
  function declutter(map, p, current) {
    var kept = [], pad = 2, frame = current.frame;
    if (current.stations && map.hasLayer(current.stations)) {
      p.stations.pos.forEach(function (pos, i) {
        if (!frame.stations || frame.stations[i] === null) { return; }
        var c = map.latLngToContainerPoint(pos), r = p.stations.radius + 2;
        kept.push({left: c.x - r, right: c.x + r, top: c.y - r, bottom: c.y + r});
      });
    }
    var origin = map.getContainer().getBoundingClientRect();
    current.labels.forEach(function (m) {
      var el = m.getElement();
      if (!el || !el.firstChild) { return; }
      el.style.visibility = "";
      var b = el.firstChild.getBoundingClientRect();
      var box = {left: b.left - origin.left - pad, right: b.right - origin.left + pad,
                 top: b.top - origin.top - pad, bottom: b.bottom - origin.top + pad};
      for (var i = 0; i < kept.length; i++) {
        if (overlaps(box, kept[i])) { el.style.visibility = "hidden"; return; }
      }
      kept.push(box);
    });
  }

  function draw(map, p) {
    map.createPane("kwxmapLabels");
    map.getPane("kwxmapLabels").style.zIndex = 650;
    map.getPane("kwxmapLabels").style.pointerEvents = "none";
    map.attributionControl.addAttribution(p.attribution);
    if (p.context) { context(map, p); }
    L.control.scale({position: "bottomright", imperial: false}).addTo(map);
    var groups = {bands: L.layerGroup().addTo(map), lines: L.layerGroup().addTo(map),
                  stations: L.layerGroup().addTo(map)};
    if (p.legend) { control(map, "bottomright", "kwxmap-legend", p.legend); }
    if (p.header) { control(map, "topleft", "kwxmap-header", p.header); }
    var overlays = {};
    if (p.tiles) {
      overlays[p.names.tiles] = L.tileLayer(p.tiles.url, {
        attribution: p.tiles.attribution, maxZoom: p.tiles.maxZoom, maxNativeZoom: p.tiles.maxZoom
      }).addTo(map);
    }
    if (p.has.bands) { overlays[p.names.bands] = groups.bands; }
    if (p.has.lines) { overlays[p.names.lines] = groups.lines; }
    if (p.has.stations) { overlays[p.names.stations] = groups.stations; }
    var small = Math.min(window.innerWidth, window.innerHeight) < 600;
    L.control.layers(null, overlays, {collapsed: small, position: "topright"}).addTo(map);

    if (p.bounds) {  // the legend sits over the bottom: keep the land above it (Jeju on phones)
      var legend = map.getContainer().querySelector(".kwxmap-legend");
      var below = 6 + (legend ? legend.offsetHeight + 10 : 0);
      map.fitBounds(p.bounds, {paddingTopLeft: [6, 6], paddingBottomRight: [6, below],
                               animate: false});
      // a narrow screen fits the width and centres the rest: lift the north edge to the
      // top so the slack lands above the legend, where the south coast and Jeju are
      var slack = map.latLngToContainerPoint([p.bounds[1][0], p.bounds[0][1]]).y - 6;
      if (slack > 0) { map.panBy([0, slack], {animate: false}); }
    }
    var built = [], current = {labels: [], frame: {}};
    function show(i) {
      if (!built[i]) { built[i] = drawFrame(p, p.frames[i]); built[i].frame = p.frames[i]; }
      ["bands", "lines", "stations"].forEach(function (k) {
        groups[k].clearLayers();
        groups[k].addLayer(built[i][k]);
      });
      current = {labels: built[i].labels, frame: p.frames[i], stations: groups.stations};
      map.fire("kwxmapframe", {index: i});
      declutter(map, p, current);
    }
    map.on("zoomend overlayadd overlayremove", function () { declutter(map, p, current); });
    show(0);
    if (p.frames.length > 1) { slider(map, p, show); }
    return {show: show};
  }

  // Province lines and city names from kwxmap's own data: a page with no tiles
  // (offline, --tiles none) still shows where things are.
  function context(map, p) {
    map.createPane("kwxmapContext");
    map.getPane("kwxmapContext").style.zIndex = 450;
    map.getPane("kwxmapContext").style.pointerEvents = "none";
    var q = p.q;
    p.context.lines.forEach(function (r) {
      L.polyline(ring(r, q), {color: "#555555", weight: 0.8, opacity: 0.7, interactive: false,
                              pane: "kwxmapContext", className: "kwxmap-province"}).addTo(map);
    });
    p.context.cities.forEach(function (c) {
      L.marker([c[0], c[1]], {icon: labelIcon(c[2], 0, "kwxmap-city"), interactive: false,
                              keyboard: false, pane: "kwxmapContext"}).addTo(map);
    });
  }

  function slider(map, p, show) {
    var div = control(map, "bottomright", "kwxmap-slider", null).getContainer();
    var input = L.DomUtil.create("input", "kwxmap-slider-input", div);
    input.type = "range"; input.min = 0; input.max = p.frames.length - 1; input.step = 1; input.value = 0;
    var play = L.DomUtil.create("button", "kwxmap-slider-play", div);
    play.type = "button"; play.textContent = "\u25B6"; play.setAttribute("aria-label", p.names.play);
    var label = L.DomUtil.create("span", "kwxmap-slider-label", div);
    function go(i) { show(i); input.value = i; label.textContent = p.frames[i].label; }
    input.addEventListener("input", function () { go(parseInt(input.value, 10)); });
    var timer = null;
    play.addEventListener("click", function () {
      if (timer) { clearInterval(timer); timer = null; play.textContent = "\u25B6"; return; }
      play.textContent = "\u275A\u275A";
      timer = setInterval(function () { go((parseInt(input.value, 10) + 1) % p.frames.length); },
                          p.interval);
    });
    go(0);
  }

  return {draw: draw};
})();
