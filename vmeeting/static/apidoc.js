// Renders the API reference from the app's own OpenAPI document. A module (Redoc 3's bundle is one);
// no inline script, since the page's CSP forbids it; Redoc's telemetry off: these offices may be offline.
import {init} from "./redoc/redoc.standalone.js";

const holder = document.getElementById("reference");
init(holder.dataset.specUrl, {disableTelemetry: true, hideDownloadButtons: false}, holder);
