// The report form, enhanced: a map to place the pin (by click, or by keyboard: arrow keys move
// the map, Enter puts the pin in its middle), "use my location", and as soon as the kind of
// nuisance and the place (pin or typed address) are known the open reports nearby with
// "I notice this too".
// Without JavaScript the address fields are the way to say where, and nearby reports are shown
// after sending.
(function () {
  "use strict";
  var lat = document.getElementById("field-lat");
  var lon = document.getElementById("field-lon");
  var status = document.getElementById("location-status");
  var picker = document.getElementById("map-picker");
  var nearby = document.getElementById("nearby-live");
  var linked = document.getElementById("field-linked_report_id");
  var linkStatus = document.getElementById("link-status");
  var map = null;
  var marker = null;
  // degrees in the page's notation: 52,20000 in Dutch, 52.20000 in English
  var degrees = window.Intl ? new Intl.NumberFormat(picker ? picker.dataset.lang : "nl", {
    minimumFractionDigits: 5, maximumFractionDigits: 5
  }) : { format: function (value) { return value.toFixed(5); } };

  function category() {
    var chosen = document.querySelector('input[name="category"]:checked');
    return chosen ? chosen.value : "";
  }

  function typed(name) { return document.getElementById("field-" + name).value.trim(); }

  function place_known() {
    return lat.value || (typed("postcode") && typed("house_number")) || typed("address");
  }

  // the pin, else the typed address (the service looks it up)
  function showNearby() {
    if (!nearby || !window.fetch || !category() || !place_known()) { return; }
    var where = lat.value ? { lat: lat.value, lon: lon.value } : {
      postcode: typed("postcode"), house_number: typed("house_number"), address: typed("address")
    };
    var query = new URLSearchParams(Object.assign({ category: category(), lang: nearby.dataset.lang }, where));
    fetch("/nearby?" + query.toString())
      .then(function (answer) { return answer.ok ? answer.text() : ""; })
      .then(function (html) {
        nearby.innerHTML = html;
        Array.prototype.forEach.call(nearby.querySelectorAll("[data-link-report]"), function (button) {
          button.setAttribute("aria-pressed", button.dataset.linkReport === linked.value ? "true" : "false");
        });
      });
  }

  function place(latitude, longitude, fromMap) {
    lat.value = latitude.toFixed(6);
    lon.value = longitude.toFixed(6);
    status.textContent = picker.dataset.placed
      .replace("{lat}", degrees.format(latitude)).replace("{lon}", degrees.format(longitude));
    if (map) {
      if (marker) { marker.setLatLng([latitude, longitude]); }
      else { marker = L.marker([latitude, longitude], { keyboard: false, alt: picker.dataset.pin }).addTo(map); }
      if (!fromMap) { map.setView([latitude, longitude], 15); }
    }
    showNearby();
  }

  if (picker && window.BuursignaalMap) {
    var element = document.getElementById("pick-map");
    var known = lat.value && lon.value;
    picker.hidden = false;  // before Leaflet measures the map
    map = window.BuursignaalMap.create(
      element, known ? [parseFloat(lat.value), parseFloat(lon.value)] : null, known ? 15 : 7
    );
    if (known) { place(parseFloat(lat.value), parseFloat(lon.value), true); }
    map.on("click", function (event) { place(event.latlng.lat, event.latlng.lng, true); });
    element.addEventListener("keydown", function (event) {
      if (event.target === element && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        var centre = map.getCenter();
        place(centre.lat, centre.lng, true);
      }
    });
    document.getElementById("place-pin").addEventListener("click", function () {
      var centre = map.getCenter();
      place(centre.lat, centre.lng, true);
    });
  }

  var locate = document.getElementById("use-location");
  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (position) {
        place(position.coords.latitude, position.coords.longitude, false);
      }, function () { status.textContent = picker.dataset.failed; });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll('input[name="category"]'), function (radio) {
    radio.addEventListener("change", showNearby);
  });
  ["postcode", "house_number", "address"].forEach(function (name) {
    document.getElementById("field-" + name).addEventListener("change", showNearby);
  });

  if (nearby) {
    nearby.addEventListener("click", function (event) {
      var button = event.target.closest("[data-link-report]");
      if (!button) { return; }
      var joining = button.getAttribute("aria-pressed") !== "true";
      Array.prototype.forEach.call(nearby.querySelectorAll("[data-link-report]"), function (other) {
        other.setAttribute("aria-pressed", "false");
      });
      button.setAttribute("aria-pressed", joining ? "true" : "false");
      linked.value = joining ? button.dataset.linkReport : "";
      linkStatus.textContent = joining
        ? nearby.dataset.linked.replace("{number}", button.dataset.number)
        : nearby.dataset.unlinked;
    });
  }
})();
