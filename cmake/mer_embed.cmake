# Turns text files into a C++ source defining `extern const char SYMBOL[]`
# (inside NAMESPACE), so schemas travel inside the binaries that use them.
# INPUT may list several JSON Schemas separated by '|': the "properties" of
# the later ones are merged into the first (shared parameter sets, such as
# the LibTorch training loop's); a key the first defines itself keeps its
# definition, so a plugin can give a shared parameter its own default.
# Usage: cmake -DINPUT=a.json|b.json -DOUTPUT=f.cpp -DSYMBOL=name -DNAMESPACE=ns -P mer_embed.cmake
string(REPLACE "|" ";" inputs "${INPUT}")
list(POP_FRONT inputs first)
file(READ "${first}" content)
foreach(extra IN LISTS inputs)
  file(READ "${extra}" more)
  string(JSON count LENGTH "${more}" properties)
  if(count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
      string(JSON key MEMBER "${more}" properties ${i})
      string(JSON value GET "${more}" properties ${key})
      # The plugin's own definition of a shared key wins (its defaults).
      string(JSON own ERROR_VARIABLE missing GET "${content}" properties ${key})
      if(missing)
        string(JSON content SET "${content}" properties ${key} "${value}")
      endif()
    endforeach()
  endif()
endforeach()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by mer_embed.cmake; do not edit.\n"
  "namespace ${NAMESPACE} {\nextern const char ${SYMBOL}[];\nconst char ${SYMBOL}[] = R\"mer_embed(${content})mer_embed\";\n}\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
