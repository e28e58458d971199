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
    var markers = [];
    (frame.stations || []).forEach(function (v, i) {
      if (v === null) { return; }
      var pos = p.stations.pos[i];
      var faint = v[3] === 1;  // beyond a regional map's region: drawn faint
      var halo = L.circleMarker(pos, {color: "#ffffff", opacity: faint ? 0.4 : 0.95,
                                      fill: false, interactive: false, className: "kwxmap-halo"});
      var dot = L.circleMarker(pos, {color: faint ? "#8a8a8a" : "#1a1a1a", fillColor: v[0],
                                     fillOpacity: faint ? 0.3 : 1, opacity: faint ? 0.6 : 1,
                                     className: faint ? "kwxmap-station kwxmap-outside"
                                                      : "kwxmap-station"})
        .bindTooltip(p.stations.head[i] + "<br>" + v[1], {opacity: 1});
      layers.stations.addLayer(halo).addLayer(dot);
      markers.push([halo, dot]);
      if (p.values && v[2]) {
        var m = L.marker(pos, {icon: labelIcon(v[2], 0, "kwxmap-valuelabel", p.stations.radius + 5),
                               interactive: false, keyboard: false, pane: "kwxmapLabels",
                               kwxValue: true});
        layers.stations.addLayer(m);
        labels.push(m);
      }
    });
    layers.markers = markers;
    // A sparse map's station values outrank isotherm values; on a dense map the
    // isotherms come first and the values fill what room is left.
    var values = labels.filter(function (m) { return m.options.kwxValue; });
    var iso = labels.filter(function (m) { return !m.options.kwxValue; });
    layers.labels = p.stations.dense ? iso.concat(values) : values.concat(iso);
    return layers;
  }

  /* Marker radius in px: fixed on a sparse map; on a dense one a dot that grows as
   * the map zooms in (×1.4 a level, from 1.5 px at the national view) and never
   * grows past 1.5 × the sparse size. */
  function radius(p, zoom) {
    var r = p.stations.radius;
    if (!p.stations.dense) { return r; }
    return Math.max(1.5, Math.min(1.5 * r, r * Math.pow(2, (zoom - 9) / 2)));
  }

  function resize(map, p, markers) {
    var r = radius(p, map.getZoom()), dense = p.stations.dense;
    markers.forEach(function (pair) {
      pair[0].setRadius(r + (dense ? 0.6 : 1.5)).setStyle({weight: dense ? 1 : 2.5});
      pair[1].setRadius(r).setStyle({weight: dense ? 0.6 : 1.2});
    });
  }

  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }

  //: Least distance (px) between two written values of one isotherm.
  var SAME_LEVEL_PX = 100;

  /* Show the labels that fit at this zoom, in priority order: a label is hidden
   * when its box touches one kept before it, when an isotherm value repeats
   * within SAME_LEVEL_PX, or when it touches a station marker (every label on a
   * sparse map; station values only on a dense map, whose isotherm values are
   * written over the dots). A label's box is measured once, relative to its
   * anchor, and moved with the map after that. */
  function declutter(map, p, current) {
    var pad = 2, frame = current.frame, dense = p.stations.dense;
    var dots = [], kept = [], same = {};
    if (current.stations && map.hasLayer(current.stations)) {
      var r = radius(p, map.getZoom()) + 2;
      p.stations.pos.forEach(function (pos, i) {
        if (!frame.stations || frame.stations[i] === null) { return; }
        var c = map.latLngToContainerPoint(pos);
        dots.push({left: c.x - r, right: c.x + r, top: c.y - r, bottom: c.y + r});
      });
    }
    var origin = map.getContainer().getBoundingClientRect();
    current.labels.forEach(function (m) {  // measure what has not been measured (once)
      var el = m.getElement();
      if (m._kwxBox || !el || !el.firstChild) { return; }
      el.style.visibility = "";
      var b = el.firstChild.getBoundingClientRect();
      var c = map.latLngToContainerPoint(m.getLatLng());
      m._kwxBox = {left: b.left - origin.left - c.x, right: b.right - origin.left - c.x,
                   top: b.top - origin.top - c.y, bottom: b.bottom - origin.top - c.y};
    });
    current.labels.forEach(function (m) {
      var el = m.getElement();
      if (!m._kwxBox || !el) { return; }
      var c = map.latLngToContainerPoint(m.getLatLng()), o = m._kwxBox;
      var box = {left: c.x + o.left - pad, right: c.x + o.right + pad,
                 top: c.y + o.top - pad, bottom: c.y + o.bottom + pad};
      var value = m.options.kwxValue, text = el.textContent, hide = false, i;
      for (i = 0; !hide && i < kept.length; i++) { hide = overlaps(box, kept[i]); }
      if (!dense || value) {
        for (i = 0; !hide && i < dots.length; i++) { hide = overlaps(box, dots[i]); }
      }
      if (!value && !hide) {
        var near = same[text] || [];
        for (i = 0; !hide && i < near.length; i++) {
          hide = Math.abs(near[i].x - c.x) < SAME_LEVEL_PX &&
                 Math.abs(near[i].y - c.y) < SAME_LEVEL_PX &&
                 Math.hypot(near[i].x - c.x, near[i].y - c.y) < SAME_LEVEL_PX;
        }
        if (!hide) { (same[text] = near).push(c); }
      }
      el.style.visibility = hide ? "hidden" : "";
      if (!hide) { kept.push(box); }
    });
  }

  function draw(map, p) {
    map.createPane("kwxmapLabels");
    map.getPane("kwxmapLabels").style.zIndex = 640;  // over markers, under an open tooltip
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
    var built = [], current = {labels: [], markers: [], frame: {}};
    function show(i) {
      if (!built[i]) { built[i] = drawFrame(p, p.frames[i]); built[i].frame = p.frames[i]; }
      ["bands", "lines", "stations"].forEach(function (k) {
        groups[k].clearLayers();
        groups[k].addLayer(built[i][k]);
      });
      current = {labels: built[i].labels, markers: built[i].markers, frame: p.frames[i],
                 stations: groups.stations};
      resize(map, p, current.markers);
      map.fire("kwxmapframe", {index: i});
      declutter(map, p, current);
    }
    map.on("zoomend", function () { resize(map, p, current.markers); });
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
    if (p.context.far) { edges(map, p.context.far); }
  }

  /* Far islands off screen: an arrow at the edge of the map, towards the island,
   * kept clear of the controls in the corners; tapping it pans there. */
  function edges(map, far) {
    var box = map.getContainer();
    var tags = far.map(function (f) {
      var tag = L.DomUtil.create("button", "kwxmap-edge", box);
      tag.type = "button";
      tag.textContent = f[2];
      tag.setAttribute("aria-label", f[2]);
      L.DomEvent.disableClickPropagation(tag);
      tag.addEventListener("click", function () {
        map.setView([f[0], f[1]], Math.max(map.getZoom(), 9), {animate: false});
      });
      return tag;
    });
    function clear(x, y, w, h) {  // the controls' boxes, in container pixels
      var origin = box.getBoundingClientRect();
      var hit = false;
      box.querySelectorAll(".leaflet-control").forEach(function (c) {
        var r = c.getBoundingClientRect();
        if (x < r.right - origin.left && r.left - origin.left < x + w &&
            y < r.bottom - origin.top && r.top - origin.top < y + h) { hit = true; }
      });
      return !hit;
    }
    function place() {
      var size = map.getSize(), view = map.getBounds();
      var centre = map.latLngToContainerPoint(view.getCenter());
      tags.forEach(function (tag, i) {
        var f = far[i];
        if (view.contains([f[0], f[1]])) { tag.style.display = "none"; return; }
        tag.style.display = "";
        var pt = map.latLngToContainerPoint([f[0], f[1]]);
        var dx = pt.x - centre.x, dy = pt.y - centre.y;
        var arrow = Math.abs(dx) * size.y > Math.abs(dy) * size.x
          ? (dx > 0 ? "\u25B6" : "\u25C0") : (dy > 0 ? "\u25BC" : "\u25B2");
        var left = dx < 0 && Math.abs(dx) * size.y > Math.abs(dy) * size.x;
        tag.textContent = left ? arrow + " " + f[2] : f[2] + " " + arrow;
        var w = tag.offsetWidth, h = tag.offsetHeight, m = 4;
        var x = Math.min(Math.max(pt.x - w / 2, m), size.x - w - m);
        var y = Math.min(Math.max(pt.y - h / 2, m), size.y - h - m);
        for (var step = 0; step < 40 && !clear(x, y, w, h); step++) {
          y += (y > size.y / 2 ? -1 : 1) * (h + 2);  // slide along the edge, off the controls
        }
        tag.style.left = x + "px";
        tag.style.top = y + "px";
      });
    }
    map.on("moveend zoomend resize", place);
    map.whenReady(place);
    return place;
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
