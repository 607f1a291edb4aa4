// The charting libraries every report inlines: the browser builds of vega, vega-lite and
// vega-embed from npm (web/package.json, installed by scripts/setup.sh), embedded into the
// library at build time (assets.cpp) so a report never needs the network nor node_modules.
#pragma once

#include <string>
#include <string_view>

namespace hwprune::report::assets {

enum class Library { Vega, VegaLite, VegaEmbed };

// The library's minified script, safe inside a <script> element ("</script" escaped).
std::string script(Library library);

extern const std::string_view kVegaVersion, kVegaLiteVersion, kVegaEmbedVersion;

}  // namespace hwprune::report::assets
