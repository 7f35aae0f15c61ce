// Live character and SMS segment count under a textarea with data-sms-count="ID-of-the-output".
// The same rule as messaging/sms.py: GSM-7 (160, or 153 a segment) unless a character needs UCS-2 (70, or 67).
(function () {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENDED = "^{}\\[~]|€\f";

  function count(text) {
    var gsm = true, units = 0, i, ch;
    for (i = 0; i < text.length; i++) {
      ch = text.charAt(i);
      if (BASIC.indexOf(ch) >= 0) { units += 1; }
      else if (EXTENDED.indexOf(ch) >= 0) { units += 2; }
      else { gsm = false; break; }
    }
    if (!gsm) { units = text.length; } // JavaScript strings are UTF-16 code units, as UCS-2 counts them
    var single = gsm ? 160 : 70, multi = gsm ? 153 : 67;
    var segments = units === 0 ? 0 : (units <= single ? 1 : Math.ceil(units / multi));
    return { units: units, segments: segments, encoding: gsm ? "GSM-7" : "UCS-2" };
  }

  function bind(area) {
    var out = document.getElementById(area.getAttribute("data-sms-count"));
    if (!out) { return; }
    var update = function () {
      var c = count(area.value);
      out.textContent = c.units + " characters · " + c.segments + " SMS segment" + (c.segments === 1 ? "" : "s") +
        " · " + c.encoding;
    };
    area.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("textarea[data-sms-count]").forEach(bind);
})();
