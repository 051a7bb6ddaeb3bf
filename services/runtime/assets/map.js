// Buursignaal's maps: Leaflet (npm, served from /vendor/leaflet) with the background tiles the
// service names in /map/settings.json, and the municipal boundaries of the reference data
// (/map/municipalities.geojson) when there are no tiles or they cannot be reached.
// Progressive enhancement: every page says in words what its map shows and works without it.
// An element with data-points (JSON: [{lat, lon, radius_m, label}]) becomes a map of them;
// the report form's script asks for a map of its own through window.BuursignaalMap.create.
(function () {
  "use strict";
  if (!window.L || !window.fetch) { return; }
  var NETHERLANDS = [52.2, 5.3];
  // a point's kind (the meldkamer's maps): the report, a candidate source, a report nearby
  var COLOURS = { report: "#b3001b", source: "#01689b", nearby: "#4b4b4b" };
  var settings = null;

  function mapSettings() {
    if (!settings) {
      settings = fetch("/map/settings.json")
        .then(function (answer) { return answer.ok ? answer.json() : { tiles: "" }; })
        .catch(function () { return { tiles: "" }; });
    }
    return settings;
  }

  function drawBoundaries(map, element) {
    if (map.bsBoundaries) { return; }
    map.bsBoundaries = true;
    fetch("/map/municipalities.geojson")
      .then(function (answer) { return answer.json(); })
      .then(function (data) {
        L.geoJSON(data, {
          interactive: false,
          style: { color: "#4b4b4b", weight: 1, fillColor: "#f3f3f3", fillOpacity: 0.7 }
        }).addTo(map).bringToBack();
        map.attributionControl.addAttribution(element.dataset.fallback || "");
        element.classList.add("bs-map--boundaries");
      })
      .catch(function () { /* the words beside the map still say where */ });
  }

  function create(element, centre, zoom) {
    element.hidden = false;  // shown before Leaflet measures it
    var map = L.map(element, { zoomControl: false, zoomSnap: 0.5 }).setView(centre || NETHERLANDS, zoom || 7);
    L.control.zoom({
      zoomInTitle: element.dataset.zoomIn || "+", zoomOutTitle: element.dataset.zoomOut || "-"
    }).addTo(map);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    element.buursignaalMap = map;  // for the page's own script (and tests) to reach
    element.setAttribute("role", "application");
    element.setAttribute("aria-label", element.dataset.mapLabel || "");
    if (element.dataset.mapDescription) {
      element.setAttribute("aria-describedby", element.dataset.mapDescription);
    }
    mapSettings().then(function (found) {
      if (!found.tiles) { drawBoundaries(map, element); return; }
      L.tileLayer(found.tiles, { maxZoom: 19, attribution: element.dataset.attribution || found.attribution || "" })
        .on("tileerror", function () { drawBoundaries(map, element); })
        .addTo(map);
    });
    return map;
  }

  function showPoints(element) {
    var points = JSON.parse(element.dataset.points || "[]");
    var map = create(element);
    var shapes = points.map(function (point) {
      var shape = L.circle([point.lat, point.lon], {
        radius: point.radius_m || 250, color: COLOURS[point.kind] || COLOURS.report, weight: 2,
        fillOpacity: 0.25, dashArray: point.kind === "nearby" ? "4 4" : null
      }).addTo(map);
      if (point.label) { shape.bindTooltip(point.label); }
      return shape;
    });
    if (shapes.length) {
      map.fitBounds(L.featureGroup(shapes).getBounds(), { maxZoom: 14, padding: [24, 24] });
    }
  }

  window.BuursignaalMap = { create: create };
  Array.prototype.forEach.call(document.querySelectorAll("[data-points]"), showPoints);
})();
