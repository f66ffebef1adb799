# Finds the system packages attnscope builds against. When any is missing, configure stops with one
# message listing every Debian/Ubuntu package to install (scripts/install-deps.sh installs them).
find_package(Threads REQUIRED)
find_package(PkgConfig QUIET)

set(_attnscope_missing "")

find_path(DOCTEST_INCLUDE_DIR doctest/doctest.h)
if(NOT DOCTEST_INCLUDE_DIR AND ATTNSCOPE_TESTS)
  list(APPEND _attnscope_missing doctest-dev)
endif()

find_package(nlohmann_json 3 CONFIG QUIET)
if(NOT nlohmann_json_FOUND)
  list(APPEND _attnscope_missing nlohmann-json3-dev)
endif()

if(ATTNSCOPE_GUI)
  find_path(STB_INCLUDE_DIR stb_image_write.h PATH_SUFFIXES stb)
  if(NOT STB_INCLUDE_DIR)
    list(APPEND _attnscope_missing libstb-dev)
  endif()
  find_package(glfw3 3.3 CONFIG QUIET)
  if(NOT glfw3_FOUND)
    list(APPEND _attnscope_missing libglfw3-dev)
  endif()
  if(PkgConfig_FOUND)
    pkg_check_modules(IMGUI QUIET IMPORTED_TARGET imgui)
  endif()
  if(NOT IMGUI_FOUND)
    list(APPEND _attnscope_missing libimgui-dev)
    if(NOT PkgConfig_FOUND)
      list(APPEND _attnscope_missing pkg-config)
    endif()
  endif()
  find_program(GLAD_EXECUTABLE glad)
  if(NOT GLAD_EXECUTABLE)
    list(APPEND _attnscope_missing python3-glad)
  endif()
  find_package(tinyxml2 CONFIG QUIET)  # tests: exported SVG figures must parse as XML
  if(NOT tinyxml2_FOUND AND ATTNSCOPE_TESTS)
    list(APPEND _attnscope_missing libtinyxml2-dev)
  endif()
  find_path(EGL_INCLUDE_DIR EGL/egl.h)
  find_path(GL_INCLUDE_DIR GL/gl.h)
  if(NOT EGL_INCLUDE_DIR)
    list(APPEND _attnscope_missing libegl-dev)
  endif()
  if(NOT GL_INCLUDE_DIR)
    list(APPEND _attnscope_missing libgl-dev)
  endif()
endif()

if(_attnscope_missing)
  list(JOIN _attnscope_missing " " _list)
  message(FATAL_ERROR
    "attnscope: missing packages: ${_list}\n"
    "Install them with:  sudo apt-get install ${_list}\n"
    "or run scripts/install-deps.sh, which the README's commands call for you.\n"
    "On a GPU server without GUI libraries, configure with -DATTNSCOPE_GUI=OFF.")
endif()
