# embed_lua.cmake - turns state/lua/*.lua into C arrays, each script with
# lib.lua in front, so the scripts stay readable Lua in the source tree.
# Usage: cmake -DSRC=dir -DOUT=file.c -P embed_lua.cmake
# A script run with -P starts with no policies set: take the project's, so
# `name STREQUAL "lib"` compares with the string, not a variable (CMP0054).
cmake_minimum_required(VERSION 3.25)
file(READ ${SRC}/lib.lua lib_text)
file(GLOB scripts ${SRC}/*.lua)
set(out "/* generated from state/lua by cmake/embed_lua.cmake; do not edit */\n")
foreach(path ${scripts})
  get_filename_component(name ${path} NAME_WE)
  if(name STREQUAL "lib")
    continue()
  endif()
  file(READ ${path} body)
  string(CONCAT text "${lib_text}" "\n" "${body}")
  string(HEX "${text}" hex)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND out "const char store_lua_${name}[] = {${bytes}0x00};\n")
endforeach()
file(WRITE ${OUT} "${out}")
