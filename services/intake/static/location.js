// Optional enhancement: "use my location" fills the hidden lat/lon fields. The form works without it.
(function () {
  var button = document.getElementById("use-location");
  if (!button || !navigator.geolocation) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var status = document.getElementById("location-status");
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("field-lat").value = position.coords.latitude.toFixed(6);
      document.getElementById("field-lon").value = position.coords.longitude.toFixed(6);
      status.textContent = position.coords.latitude.toFixed(5) + ", " + position.coords.longitude.toFixed(5);
    }, function (error) { status.textContent = error.message; });
  });
})();
