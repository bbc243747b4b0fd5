/* smooth.js: `ncarender html --resample smooth`. The browser scales the canvas with its smooth filter (on
   premultiplied colour, as a canvas stores it: no dark rim) instead of cell by cell. */
"use strict";
document.getElementById("grid").style.imageRendering = "auto";
