# mer_add_plugin(TARGET SOURCES a.cpp... SCHEMA params.schema.json [more.schema.json...]
#                [LIBRARIES lib...] [OUTPUT_DIRECTORY dir])
#
# Builds one mer plugin as a shared library named TARGET.so (TARGET is the
# plugin name, e.g. regressor.ridge) with its parameter schema compiled in.
# In the mer tree the library lands in build/plugins/; out of tree in
# OUTPUT_DIRECTORY (default: ${CMAKE_CURRENT_BINARY_DIR}). Only the factory
# and metadata that MER_PLUGIN() declares are exported.
set(MER_EMBED_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/mer_embed.cmake")

function(mer_embed_text inputs output symbol namespace)
  string(REPLACE ";" "|" joined "${inputs}")
  add_custom_command(OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} "-DINPUT=${joined}" -DOUTPUT=${output} -DSYMBOL=${symbol} -DNAMESPACE=${namespace}
            -P ${MER_EMBED_SCRIPT}
    DEPENDS ${inputs} ${MER_EMBED_SCRIPT}
    COMMENT "Embedding ${joined}" VERBATIM)
endfunction()

function(mer_add_plugin target)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES;SCHEMA" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "mer_add_plugin(${target}): SOURCES is required")
  endif()
  if(NOT ARG_SCHEMA)
    message(FATAL_ERROR "mer_add_plugin(${target}): SCHEMA params.schema.json is required")
  endif()
  set(schemas)
  foreach(s IN LISTS ARG_SCHEMA)
    get_filename_component(absolute "${s}" ABSOLUTE)
    list(APPEND schemas "${absolute}")
  endforeach()
  if(("mer_torch" IN_LIST ARG_LIBRARIES AND NOT TARGET mer_torch) OR
     ("mer::torch" IN_LIST ARG_LIBRARIES AND NOT TARGET mer::torch))
    message(FATAL_ERROR "mer_add_plugin(${target}): links LibTorch, which this build has not "
                        "(MER_WITH_TORCH=OFF); start its CMakeLists.txt with if(NOT MER_WITH_TORCH) return() endif()")
  endif()
  set(generated "${CMAKE_CURRENT_BINARY_DIR}/${target}_params_schema.cpp")
  mer_embed_text("${schemas}" "${generated}" params_schema mer_plugin_generated)

  add_library(${target} MODULE ${ARG_SOURCES} ${generated})
  if(TARGET mer_core)
    target_link_libraries(${target} PRIVATE mer_core ${ARG_LIBRARIES})
  else()
    target_link_libraries(${target} PRIVATE mer::core ${ARG_LIBRARIES})
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set(out "${ARG_OUTPUT_DIRECTORY}")
  elseif(MER_PLUGIN_OUTPUT_DIR)
    set(out "${MER_PLUGIN_OUTPUT_DIR}")
    set_property(GLOBAL APPEND PROPERTY MER_PLUGIN_TARGETS ${target})
  else()
    set(out "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "${target}" SUFFIX ".so"
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${out}")
  target_compile_features(${target} PRIVATE cxx_std_17)
  # The LibTorch plugins of the build, for the GPU check's kit (bench/gpu-check):
  # name, generated schema source, sources. The kit has no audio decoding
  # (libsndfile, libsoxr): plugins that read audio are left out.
  if(("mer_torch" IN_LIST ARG_LIBRARIES OR "mer::torch" IN_LIST ARG_LIBRARIES) AND NOT "mer_audio" IN_LIST ARG_LIBRARIES)
    set(sources)
    foreach(s IN LISTS ARG_SOURCES)
      get_filename_component(absolute "${s}" ABSOLUTE)
      list(APPEND sources "${absolute}")
    endforeach()
    string(REPLACE ";" " " sources "${sources}")
    set_property(GLOBAL APPEND PROPERTY MER_TORCH_PLUGIN_LINES "${target}|${generated}|${sources}")
  endif()
endfunction()
