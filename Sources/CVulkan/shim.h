// Vulkan types only. Every entry point is loaded at run time through
// vkGetInstanceProcAddr / vkGetDeviceProcAddr, so nothing links libvulkan.
#ifndef TENSORENGINE_CVULKAN_SHIM_H
#define TENSORENGINE_CVULKAN_SHIM_H
#define VK_NO_PROTOTYPES 1
#include <vulkan/vulkan.h>
#endif
