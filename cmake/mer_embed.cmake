# Turns a text file into a C++ source defining `extern const char SYMBOL[]`
# (inside NAMESPACE), so schemas travel inside the binaries that use them.
# Usage: cmake -DINPUT=f.json -DOUTPUT=f.cpp -DSYMBOL=name -DNAMESPACE=ns -P mer_embed.cmake
file(READ "${INPUT}" content)
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by mer_embed.cmake; do not edit.\n"
  "namespace ${NAMESPACE} {\nextern const char ${SYMBOL}[];\nconst char ${SYMBOL}[] = R\"mer_embed(${content})mer_embed\";\n}\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
