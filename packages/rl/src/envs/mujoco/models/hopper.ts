/**
 * Hopper-v5's robot in MJCF, written for @hypernets/rl from the published facts of Gymnasium's
 * hopper.xml (v5): a torso capsule (radius 0.05, half-length 0.2) 1.25 m up, thigh (0.05, 0.225),
 * leg (0.04, 0.25) and foot (0.06, 0.195, friction 2) on hinges of range −150…0°, −150…0° and
 * −45…45°, gears 200, RK4 at 0.002 s, density-derived masses, planar root joints with rootz's
 * reference at 1.25. Visual-only parts left out.
 */
export const HOPPER_XML = `
<mujoco model="hopper">
  <compiler angle="degree" inertiafromgeom="true"/>
  <option integrator="RK4" timestep="0.002"/>
  <default>
    <joint limited="true" armature="1" damping="1"/>
    <geom type="capsule" contype="1" conaffinity="1" condim="1" margin="0.001" solref="0.02 1" solimp="0.8 0.8 0.01" rgba="0.8 0.6 0.4 1"/>
    <motor ctrllimited="true" ctrlrange="-1 1" gear="200"/>
  </default>
  <worldbody>
    <geom name="floor" type="plane" size="20 20 0.125" conaffinity="1" condim="3" rgba="0.8 0.9 0.8 1"/>
    <body name="torso" pos="0 0 1.25">
      <joint name="rootx" type="slide" axis="1 0 0" pos="0 0 -1.25" limited="false" armature="0" damping="0" stiffness="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" pos="0 0 -1.25" ref="1.25" limited="false" armature="0" damping="0" stiffness="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" limited="false" armature="0" damping="0" stiffness="0"/>
      <geom name="torso_geom" size="0.05 0.2" friction="0.9"/>
      <body name="thigh" pos="0 0 -0.2">
        <joint name="thigh_joint" type="hinge" axis="0 -1 0" range="-150 0"/>
        <geom name="thigh_geom" pos="0 0 -0.225" size="0.05 0.225" friction="0.9"/>
        <body name="leg" pos="0 0 -0.7">
          <joint name="leg_joint" type="hinge" axis="0 -1 0" pos="0 0 0.25" range="-150 0"/>
          <geom name="leg_geom" size="0.04 0.25" friction="0.9"/>
          <body name="foot" pos="0.13 0 -0.35">
            <joint name="foot_joint" type="hinge" axis="0 -1 0" pos="-0.13 0 0.1" range="-45 45"/>
            <geom name="foot_geom" pos="-0.065 0 0.1" quat="0.70710678118654757 0 -0.70710678118654746 0" size="0.06 0.195" friction="2"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor joint="thigh_joint"/>
    <motor joint="leg_joint"/>
    <motor joint="foot_joint"/>
  </actuator>
</mujoco>
`;
